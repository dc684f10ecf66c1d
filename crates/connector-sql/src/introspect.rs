//! Schema introspection: tables and views, their columns with native and common types,
//! nullability and primary keys, from each engine's catalog (always with bound parameters).

use connector_sdk::{ConnectorError, Field, FieldType, Operation, StreamDescriptor};
use sqlx::{Column as _, Executor as _, Row as _, TypeInfo as _};

use crate::db::{Db, READ_ONLY_TRANSACTION, database_message, sqlx_error_kind};
use crate::dialect::{Dialect as _, Engine, TableName};
use crate::mssql;
use crate::values::BindValue;

/// One column of a table, view or query.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    /// The column name.
    pub name: String,
    /// The native type as the catalog spells it (`numeric(12,2)`).
    pub native: String,
    /// The common type.
    pub field_type: FieldType,
    /// Whether it may be `NULL`.
    pub nullable: bool,
    /// PostgreSQL: the column type as the server receives it in a binary `COPY` (`None` on
    /// the other engines and for the columns of a query).
    pub pg_type: Option<PgType>,
}

/// A PostgreSQL column type, as the server identifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgType {
    /// The type's OID (built-in types have fixed ones: `int4` is 23, `text[]` 1009).
    pub oid: u32,
    /// Whether values are read and received exactly as `text` ones: the type's input and
    /// receive functions are the built-in `textin` and `textrecv` (`text`, `citext`).
    pub text_like: bool,
}

/// A table or view with its columns and primary key.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// The table, its schema resolved.
    pub table: TableName,
    /// Whether it is a view (or materialized view).
    pub is_view: bool,
    /// The columns in table order.
    pub columns: Vec<ColumnInfo>,
    /// The primary key columns in key order (empty when there is none).
    pub primary_key: Vec<String>,
}

impl TableInfo {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Columns usable as incremental cursors: integers, decimals, dates and timestamps.
pub fn cursor_candidates(columns: &[ColumnInfo]) -> Vec<String> {
    columns
        .iter()
        .filter(|c| {
            matches!(
                c.field_type,
                FieldType::Integer
                    | FieldType::Decimal { .. }
                    | FieldType::Date
                    | FieldType::Timestamp
                    | FieldType::TimestampTz
            )
        })
        .map(|c| c.name.clone())
        .collect()
}

/// The stream descriptor of a set of columns.
pub fn descriptor(
    name: &str,
    namespace: Option<String>,
    columns: &[ColumnInfo],
    primary_key: Vec<String>,
) -> StreamDescriptor {
    let fields = columns
        .iter()
        .map(|c| Field {
            name: c.name.clone(),
            field_type: c.field_type.clone(),
            nullable: c.nullable,
            native_type: Some(c.native.clone()),
        })
        .collect();
    let mut stream = StreamDescriptor::new(name, fields)
        .with_primary_key(primary_key)
        .with_cursor_candidates(cursor_candidates(columns));
    stream.namespace = namespace;
    stream
}

fn err(engine: Engine) -> impl Fn(sqlx::Error) -> ConnectorError {
    move |e| {
        ConnectorError::new(
            sqlx_error_kind(engine, &e),
            Operation::Discover,
            database_message(&e),
        )
    }
}

/// The schema unqualified names resolve to: `current_schema()`, `DATABASE()`, `main`,
/// `SCHEMA_NAME()`.
pub async fn default_schema(db: &Db) -> Result<String, ConnectorError> {
    match db {
        Db::Postgres(pool) => sqlx::query_scalar::<_, String>("SELECT current_schema()::text")
            .fetch_one(pool)
            .await
            .map_err(err(Engine::Postgres)),
        Db::MySql(pool) => {
            let row = sqlx::query("SELECT DATABASE()")
                .fetch_one(pool)
                .await
                .map_err(err(Engine::MySql))?;
            let name: Option<String> = row.try_get_unchecked(0).map_err(err(Engine::MySql))?;
            name.ok_or_else(|| {
                ConnectorError::config(
                    Operation::Discover,
                    "the MySQL URL names no database (mysql://user@host:3306/DATABASE)",
                )
            })
        }
        Db::Sqlite(_) => Ok("main".into()),
        Db::Mssql(session) => {
            let rows = mssql_rows(session, "SELECT SCHEMA_NAME()", vec![]).await?;
            Ok(rows
                .first()
                .and_then(|r| r.get::<&str, _>(0))
                .unwrap_or("dbo")
                .to_owned())
        }
    }
}

/// Runs a query on SQL Server and collects its rows (catalog queries are small).
pub async fn mssql_rows(
    session: &mssql::MssqlSession,
    sql: &str,
    binds: Vec<BindValue>,
) -> Result<Vec<tiberius::Row>, ConnectorError> {
    let mut guard = session.client(Operation::Discover).await?;
    let client = guard
        .as_mut()
        .ok_or_else(|| ConnectorError::transient(Operation::Discover, "not connected"))?;
    let mut query = tiberius::Query::new(sql.to_owned());
    for bind in binds {
        crate::values::mssql::bind(&mut query, bind);
    }
    let result = match query.query(client).await {
        Ok(stream) => stream.into_first_result().await,
        Err(e) => Err(e),
    };
    result.map_err(|e| mssql::error(Operation::Discover, &e))
}

/// Lists the tables and views of `schemas`.
pub async fn list_tables(
    db: &Db,
    schemas: &[String],
) -> Result<Vec<(TableName, bool)>, ConnectorError> {
    let mut tables = Vec::new();
    match db {
        Db::Postgres(pool) => {
            let rows = sqlx::query(
                "SELECT n.nspname::text, c.relname::text, c.relkind::text \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'v', 'm', 'p', 'f') \
                 ORDER BY 1, 2",
            )
            .bind(schemas)
            .fetch_all(pool)
            .await
            .map_err(err(Engine::Postgres))?;
            for row in rows {
                let kind: String = row.try_get(2).map_err(err(Engine::Postgres))?;
                tables.push((
                    TableName {
                        schema: Some(row.try_get(0).map_err(err(Engine::Postgres))?),
                        name: row.try_get(1).map_err(err(Engine::Postgres))?,
                    },
                    kind == "v" || kind == "m",
                ));
            }
        }
        Db::MySql(pool) => {
            for schema in schemas {
                let rows = sqlx::query(
                    "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES \
                     WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
                )
                .bind(schema)
                .fetch_all(pool)
                .await
                .map_err(err(Engine::MySql))?;
                for row in rows {
                    let name: String = row.try_get_unchecked(0).map_err(err(Engine::MySql))?;
                    let kind: String = row.try_get_unchecked(1).map_err(err(Engine::MySql))?;
                    tables.push((
                        TableName {
                            schema: Some(schema.clone()),
                            name,
                        },
                        kind.contains("VIEW"),
                    ));
                }
            }
        }
        Db::Sqlite(pool) => {
            for schema in schemas {
                let sql = format!(
                    "SELECT name, type FROM {}.sqlite_master WHERE type IN ('table', 'view') \
                     AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                    crate::dialect::SqliteDialect
                        .quote_identifier(schema)
                        .map_err(|e| ConnectorError::config(Operation::Discover, e.to_string()))?
                );
                let rows = sqlx::query(&sql)
                    .fetch_all(pool)
                    .await
                    .map_err(err(Engine::Sqlite))?;
                for row in rows {
                    let name: String = row.try_get(0).map_err(err(Engine::Sqlite))?;
                    let kind: String = row.try_get(1).map_err(err(Engine::Sqlite))?;
                    tables.push((
                        TableName {
                            schema: Some(schema.clone()),
                            name,
                        },
                        kind == "view",
                    ));
                }
            }
        }
        Db::Mssql(session) => {
            for schema in schemas {
                let rows = mssql_rows(
                    session,
                    "SELECT TABLE_NAME, TABLE_TYPE FROM INFORMATION_SCHEMA.TABLES \
                     WHERE TABLE_SCHEMA = @P1 ORDER BY TABLE_NAME",
                    vec![BindValue::Text(schema.clone())],
                )
                .await?;
                for row in rows {
                    let name = row.get::<&str, _>(0).unwrap_or_default().to_owned();
                    let kind = row.get::<&str, _>(1).unwrap_or_default();
                    tables.push((
                        TableName {
                            schema: Some(schema.clone()),
                            name,
                        },
                        kind.contains("VIEW"),
                    ));
                }
            }
        }
    }
    Ok(tables)
}

/// Describes one table or view; `None` when it does not exist. An unqualified name
/// resolves in the default schema.
pub async fn describe_table(
    db: &Db,
    table: &TableName,
) -> Result<Option<TableInfo>, ConnectorError> {
    let schema = match &table.schema {
        Some(schema) => schema.clone(),
        None => default_schema(db).await?,
    };
    let resolved = TableName {
        schema: Some(schema.clone()),
        name: table.name.clone(),
    };
    let engine = engine_of(db);
    let dialect = engine.dialect();
    let mut is_view = false;
    let mut columns = Vec::new();
    let mut key: Vec<(i64, String)> = Vec::new();
    match db {
        Db::Postgres(pool) => {
            // The type OID, and whether the type takes text as `text` does (language 12 is
            // `internal`: functions built into the server, `prosrc` naming the C function).
            let rows = sqlx::query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, c.relkind::text, \
                 a.atttypid::int8, EXISTS (SELECT FROM pg_type t \
                   JOIN pg_proc i ON i.oid = t.typinput JOIN pg_proc r ON r.oid = t.typreceive \
                   WHERE t.oid = a.atttypid AND i.prolang = 12 AND i.prosrc = 'textin' \
                   AND r.prolang = 12 AND r.prosrc = 'textrecv') \
                 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'v', 'm', 'p', 'f') \
                 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            )
            .bind(&schema)
            .bind(&table.name)
            .fetch_all(pool)
            .await
            .map_err(err(engine))?;
            for row in rows {
                let native: String = row.try_get(1).map_err(err(engine))?;
                let kind: String = row.try_get(3).map_err(err(engine))?;
                is_view = kind == "v" || kind == "m";
                let oid: i64 = row.try_get(4).map_err(err(engine))?;
                let text_like: bool = row.try_get(5).map_err(err(engine))?;
                columns.push(ColumnInfo {
                    name: row.try_get(0).map_err(err(engine))?,
                    field_type: dialect.map_type(&native),
                    native,
                    nullable: row.try_get(2).map_err(err(engine))?,
                    pg_type: u32::try_from(oid).ok().map(|oid| PgType { oid, text_like }),
                });
            }
            let rows = sqlx::query(
                "SELECT a.attname::text, k.ord \
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
                 WHERE i.indisprimary AND n.nspname = $1 AND c.relname = $2 ORDER BY k.ord",
            )
            .bind(&schema)
            .bind(&table.name)
            .fetch_all(pool)
            .await
            .map_err(err(engine))?;
            for row in rows {
                key.push((
                    row.try_get(1).map_err(err(engine))?,
                    row.try_get(0).map_err(err(engine))?,
                ));
            }
        }
        Db::MySql(pool) => {
            let kinds = sqlx::query(
                "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            )
            .bind(&schema)
            .bind(&table.name)
            .fetch_all(pool)
            .await
            .map_err(err(engine))?;
            let Some(kind) = kinds.first() else {
                return Ok(None);
            };
            let kind: String = kind.try_get_unchecked(0).map_err(err(engine))?;
            is_view = kind.contains("VIEW");
            let json_columns = mariadb_json_columns(pool, &schema, &table.name).await;
            let rows = sqlx::query(
                "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            )
            .bind(&schema)
            .bind(&table.name)
            .fetch_all(pool)
            .await
            .map_err(err(engine))?;
            for row in rows {
                let name: String = row.try_get_unchecked(0).map_err(err(engine))?;
                let native: String = row.try_get_unchecked(1).map_err(err(engine))?;
                let nullable: String = row.try_get_unchecked(2).map_err(err(engine))?;
                let field_type = if json_columns.contains(&name) {
                    FieldType::Json
                } else {
                    dialect.map_type(&native)
                };
                columns.push(ColumnInfo {
                    name,
                    native,
                    field_type,
                    nullable: nullable == "YES",
                    pg_type: None,
                });
            }
            let rows = sqlx::query(
                "SELECT COLUMN_NAME, ORDINAL_POSITION FROM information_schema.KEY_COLUMN_USAGE \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' \
                 ORDER BY ORDINAL_POSITION",
            )
            .bind(&schema)
            .bind(&table.name)
            .fetch_all(pool)
            .await
            .map_err(err(engine))?;
            for row in rows {
                let position: i64 = row.try_get_unchecked(1).map_err(err(engine))?;
                key.push((position, row.try_get_unchecked(0).map_err(err(engine))?));
            }
        }
        Db::Sqlite(pool) => {
            let quoted_schema = dialect
                .quote_identifier(&schema)
                .map_err(|e| ConnectorError::config(Operation::Discover, e.to_string()))?;
            let kinds = sqlx::query(&format!(
                "SELECT type FROM {quoted_schema}.sqlite_master WHERE type IN ('table', 'view') AND name = ?"
            ))
            .bind(&table.name)
            .fetch_all(pool)
            .await
            .map_err(err(engine))?;
            let Some(kind) = kinds.first() else {
                return Ok(None);
            };
            let kind: String = kind.try_get(0).map_err(err(engine))?;
            is_view = kind == "view";
            let rows = sqlx::query(
                "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1, ?2) ORDER BY cid",
            )
            .bind(&table.name)
            .bind(&schema)
            .fetch_all(pool)
            .await
            .map_err(err(engine))?;
            for row in rows {
                let name: String = row.try_get(0).map_err(err(engine))?;
                let native: String = row.try_get(1).map_err(err(engine))?;
                let not_null: i64 = row.try_get(2).map_err(err(engine))?;
                let pk: i64 = row.try_get(3).map_err(err(engine))?;
                if pk > 0 {
                    key.push((pk, name.clone()));
                }
                columns.push(ColumnInfo {
                    name,
                    field_type: dialect.map_type(&native),
                    native,
                    // SQLite lets a non-INTEGER primary key hold NULL unless declared NOT NULL.
                    nullable: not_null == 0,
                    pg_type: None,
                });
            }
        }
        Db::Mssql(session) => {
            let kinds = mssql_rows(
                session,
                "SELECT TABLE_TYPE FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = @P1 AND TABLE_NAME = @P2",
                vec![BindValue::Text(schema.clone()), BindValue::Text(table.name.clone())],
            )
            .await?;
            let Some(kind) = kinds.first() else {
                return Ok(None);
            };
            is_view = kind.get::<&str, _>(0).unwrap_or_default().contains("VIEW");
            let rows = mssql_rows(
                session,
                "SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE, \
                 CAST(CHARACTER_MAXIMUM_LENGTH AS int), CAST(NUMERIC_PRECISION AS int), CAST(NUMERIC_SCALE AS int) \
                 FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @P1 AND TABLE_NAME = @P2 \
                 ORDER BY ORDINAL_POSITION",
                vec![BindValue::Text(schema.clone()), BindValue::Text(table.name.clone())],
            )
            .await?;
            for row in rows {
                let data_type = row.get::<&str, _>(1).unwrap_or_default().to_owned();
                let native = match data_type.as_str() {
                    "decimal" | "numeric" => format!(
                        "{data_type}({},{})",
                        row.get::<i32, _>(4).unwrap_or(18),
                        row.get::<i32, _>(5).unwrap_or(0)
                    ),
                    "varchar" | "nvarchar" | "varbinary" | "char" | "nchar" | "binary" => {
                        match row.get::<i32, _>(3) {
                            Some(-1) => format!("{data_type}(max)"),
                            Some(n) => format!("{data_type}({n})"),
                            None => data_type.clone(),
                        }
                    }
                    _ => data_type.clone(),
                };
                columns.push(ColumnInfo {
                    name: row.get::<&str, _>(0).unwrap_or_default().to_owned(),
                    field_type: dialect.map_type(&native),
                    native,
                    nullable: row.get::<&str, _>(2) == Some("YES"),
                    pg_type: None,
                });
            }
            let rows = mssql_rows(
                session,
                "SELECT k.COLUMN_NAME, CAST(k.ORDINAL_POSITION AS bigint) FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS t \
                 JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE k ON k.CONSTRAINT_NAME = t.CONSTRAINT_NAME \
                 AND k.TABLE_SCHEMA = t.TABLE_SCHEMA AND k.TABLE_NAME = t.TABLE_NAME \
                 WHERE t.CONSTRAINT_TYPE = 'PRIMARY KEY' AND t.TABLE_SCHEMA = @P1 AND t.TABLE_NAME = @P2 \
                 ORDER BY k.ORDINAL_POSITION",
                vec![BindValue::Text(schema.clone()), BindValue::Text(table.name.clone())],
            )
            .await?;
            for row in rows {
                key.push((
                    row.get::<i64, _>(1).unwrap_or_default(),
                    row.get::<&str, _>(0).unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    if columns.is_empty() {
        return Ok(None);
    }
    key.sort_by_key(|(position, _)| *position);
    Ok(Some(TableInfo {
        table: resolved,
        is_view,
        columns,
        primary_key: key.into_iter().map(|(_, name)| name).collect(),
    }))
}

/// MariaDB stores JSON as LONGTEXT with a `json_valid(col)` check; finds those columns.
/// (MySQL has a real JSON type and a different catalog: an error here means "none".)
async fn mariadb_json_columns(pool: &sqlx::MySqlPool, schema: &str, table: &str) -> Vec<String> {
    let rows = sqlx::query(
        "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
    )
    .bind(schema)
    .bind(table)
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    rows.iter()
        .filter_map(|row| row.try_get_unchecked::<String, _>(0).ok())
        .filter_map(|clause| {
            let inner = clause
                .trim()
                .strip_prefix("json_valid(")?
                .strip_suffix(')')?;
            let name = inner.trim().strip_prefix('`')?.strip_suffix('`')?;
            Some(name.replace("``", "`"))
        })
        .collect()
}

/// The columns a query returns (without running it, where the engine can describe it).
pub async fn describe_query(db: &Db, sql: &str) -> Result<Vec<ColumnInfo>, ConnectorError> {
    let engine = engine_of(db);
    let dialect = engine.dialect();
    macro_rules! described {
        ($pool:expr) => {{
            let describe = $pool.describe(sql).await.map_err(err(engine))?;
            describe
                .columns()
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let native = c.type_info().name().to_owned();
                    ColumnInfo {
                        name: c.name().to_owned(),
                        field_type: dialect.map_type(&native),
                        native,
                        nullable: describe.nullable(i).unwrap_or(true),
                        pg_type: None,
                    }
                })
                .collect()
        }};
    }
    // A query stream is described in the read-only transaction it runs in (SQLite: `db`
    // is the read-only pool), rolled back after.
    Ok(match db {
        Db::Postgres(pool) => {
            let mut tx = pool
                .begin_with(READ_ONLY_TRANSACTION)
                .await
                .map_err(err(engine))?;
            let columns = described!(&mut *tx);
            tx.rollback().await.map_err(err(engine))?;
            columns
        }
        Db::MySql(pool) => {
            let mut tx = pool
                .begin_with(READ_ONLY_TRANSACTION)
                .await
                .map_err(err(engine))?;
            let columns = described!(&mut *tx);
            tx.rollback().await.map_err(err(engine))?;
            columns
        }
        Db::Sqlite(pool) => described!(pool),
        Db::Mssql(session) => {
            let mut guard = session.client(Operation::Discover).await?;
            let client = guard
                .as_mut()
                .ok_or_else(|| ConnectorError::transient(Operation::Discover, "not connected"))?;
            let probe = dialect.limit_zero(sql);
            let stream = client
                .simple_query(probe)
                .await
                .map_err(|e| mssql::error(Operation::Discover, &e))?;
            let mut stream = stream;
            let columns = stream
                .columns()
                .await
                .map_err(|e| mssql::error(Operation::Discover, &e))?
                .map(|cols| cols.to_vec())
                .unwrap_or_default();
            let _ = stream.into_results().await;
            columns
                .into_iter()
                .map(|c| {
                    let native = mssql_type_name(c.column_type());
                    ColumnInfo {
                        name: c.name().to_owned(),
                        field_type: dialect.map_type(native),
                        native: native.to_owned(),
                        nullable: true,
                        pg_type: None,
                    }
                })
                .collect()
        }
    })
}

fn mssql_type_name(column_type: tiberius::ColumnType) -> &'static str {
    use tiberius::ColumnType as T;
    match column_type {
        T::Bit | T::Bitn => "bit",
        T::Int1 => "tinyint",
        T::Int2 => "smallint",
        T::Int4 | T::Intn => "int",
        T::Int8 => "bigint",
        T::Float4 => "real",
        T::Float8 | T::Floatn => "float",
        T::Money | T::Money4 => "money",
        T::Decimaln | T::Numericn => "decimal",
        T::Datetime | T::Datetime4 | T::Datetimen | T::Datetime2 => "datetime2",
        T::Daten => "date",
        T::Timen => "time",
        T::DatetimeOffsetn => "datetimeoffset",
        T::Guid => "uniqueidentifier",
        T::BigVarBin | T::BigBinary | T::Image => "varbinary",
        T::Xml => "xml",
        T::BigVarChar | T::BigChar | T::NVarchar | T::NChar | T::Text | T::NText => "nvarchar",
        _ => "sql_variant",
    }
}

/// The engine of a pool.
pub fn engine_of(db: &Db) -> Engine {
    match db {
        Db::Postgres(_) => Engine::Postgres,
        Db::MySql(_) => Engine::MySql,
        Db::Sqlite(_) => Engine::Sqlite,
        Db::Mssql(_) => Engine::Mssql,
    }
}
