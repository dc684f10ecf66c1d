//! One SQL dialect per engine: identifier quoting, placeholders, parameter limits, upsert
//! syntax and the mapping of native types onto the SDK's [`FieldType`].
//!
//! Everything that ends up in SQL text goes through here. Identifiers (tables, columns) are
//! always quoted by [`Dialect::quote_identifier`] (embedded quote characters doubled, NUL
//! rejected); values never appear in SQL text: they are bound as parameters (or streamed
//! through `COPY` on PostgreSQL).

mod mssql;
mod mysql;
mod postgres;
mod sqlite;

use std::fmt;

use connector_sdk::FieldType;

pub use mssql::MssqlDialect;
pub use mysql::MySqlDialect;
pub use postgres::PostgresDialect;
pub use sqlite::SqliteDialect;

/// The database engines this connector talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// PostgreSQL (sqlx).
    Postgres,
    /// MySQL or MariaDB (sqlx).
    MySql,
    /// SQLite (sqlx).
    Sqlite,
    /// Microsoft SQL Server (tiberius).
    Mssql,
}

impl Engine {
    /// The engine a connection URL points at, by its scheme.
    pub fn from_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Some(Self::Postgres),
            "mysql" | "mariadb" => Some(Self::MySql),
            "sqlite" => Some(Self::Sqlite),
            "mssql" | "sqlserver" => Some(Self::Mssql),
            _ => None,
        }
    }

    /// The dialect of this engine.
    pub fn dialect(self) -> &'static dyn Dialect {
        match self {
            Self::Postgres => &PostgresDialect,
            Self::MySql => &MySqlDialect,
            Self::Sqlite => &SqliteDialect,
            Self::Mssql => &MssqlDialect,
        }
    }

    /// A stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
            Self::Sqlite => "sqlite",
            Self::Mssql => "mssql",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An identifier that cannot be used safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierError(pub String);

impl fmt::Display for IdentifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IdentifierError {}

/// A possibly schema-qualified table name, kept as its unquoted parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableName {
    /// The schema (PostgreSQL, SQL Server), database (MySQL) or attached database (SQLite).
    pub schema: Option<String>,
    /// The table or view name.
    pub name: String,
}

impl TableName {
    /// Parses `table`, `schema.table` or a part in double quotes (`"my.table"`, `""` for an
    /// embedded quote). Empty parts, more than two parts and NUL characters are rejected.
    pub fn parse(text: &str) -> Result<Self, IdentifierError> {
        let mut parts = Vec::new();
        let mut current = String::new();
        let mut chars = text.trim().chars().peekable();
        let mut quoted_part = false;
        while let Some(c) = chars.next() {
            match c {
                '"' if current.is_empty() && !quoted_part => {
                    quoted_part = true;
                    loop {
                        match chars.next() {
                            Some('"') if chars.peek() == Some(&'"') => {
                                chars.next();
                                current.push('"');
                            }
                            Some('"') => break,
                            Some(other) => current.push(other),
                            None => {
                                return Err(IdentifierError(format!(
                                    "unterminated quoted identifier in `{text}`"
                                )));
                            }
                        }
                    }
                }
                '.' => {
                    parts.push(std::mem::take(&mut current));
                    quoted_part = false;
                }
                _ if quoted_part => {
                    return Err(IdentifierError(format!(
                        "unexpected character after a quoted identifier in `{text}`"
                    )));
                }
                _ => current.push(c),
            }
        }
        parts.push(current);
        for part in &parts {
            check_identifier(part)?;
        }
        match parts.len() {
            1 => Ok(Self {
                schema: None,
                name: parts.remove(0),
            }),
            2 => {
                let name = parts.remove(1);
                Ok(Self {
                    schema: Some(parts.remove(0)),
                    name,
                })
            }
            _ => Err(IdentifierError(format!(
                "`{text}` has more than two parts; use `table` or `schema.table`"
            ))),
        }
    }

    /// The name with its schema, unquoted, for messages.
    pub fn display(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Rejects identifiers no engine can take safely: empty, NUL, longer than 128 characters.
pub fn check_identifier(ident: &str) -> Result<(), IdentifierError> {
    if ident.is_empty() {
        return Err(IdentifierError("an identifier is empty".into()));
    }
    if ident.contains('\0') {
        return Err(IdentifierError(
            "an identifier contains a NUL character".into(),
        ));
    }
    if ident.chars().count() > 128 {
        return Err(IdentifierError(
            "an identifier is longer than 128 characters".into(),
        ));
    }
    Ok(())
}

/// The longest checkpoint key the checkpoint table holds (`varchar(200)`).
pub const CHECKPOINT_KEY_MAX_CHARS: usize = 200;

/// What differs between SQL engines.
pub trait Dialect: Send + Sync + fmt::Debug {
    /// The engine.
    fn engine(&self) -> Engine;

    /// The opening and closing identifier quote characters.
    fn quote_chars(&self) -> (char, char);

    /// Quotes one identifier part, doubling the closing quote character inside it.
    fn quote_identifier(&self, ident: &str) -> Result<String, IdentifierError> {
        check_identifier(ident)?;
        let (open, close) = self.quote_chars();
        let mut quoted = String::with_capacity(ident.len() + 2);
        quoted.push(open);
        for c in ident.chars() {
            if c == close {
                quoted.push(close);
            }
            quoted.push(c);
        }
        quoted.push(close);
        Ok(quoted)
    }

    /// Quotes a table name, each part on its own (`"public"."customers"`).
    fn quote_table(&self, table: &TableName) -> Result<String, IdentifierError> {
        let name = self.quote_identifier(&table.name)?;
        Ok(match &table.schema {
            Some(schema) => format!("{}.{name}", self.quote_identifier(schema)?),
            None => name,
        })
    }

    /// The placeholder of the `index`-th parameter (1-based).
    fn placeholder(&self, index: usize) -> String;

    /// The placeholder of a parameter compared with a column of `native` type. PostgreSQL
    /// binds such values as text and casts them; other engines convert implicitly.
    fn typed_placeholder(&self, index: usize, native: &str) -> String {
        let _ = native;
        self.placeholder(index)
    }

    /// The largest number of bound parameters in one statement.
    fn max_parameters(&self) -> usize;

    /// The largest number of rows in one multi-row `VALUES` list.
    fn max_rows_per_statement(&self) -> usize {
        usize::MAX
    }

    /// Maps a native type name (as the catalog or the driver spells it) onto [`FieldType`].
    fn map_type(&self, native: &str) -> FieldType;

    /// A multi-row upsert of `rows` rows into `table` (quoted) with `columns` (quoted),
    /// keyed by `key` (quoted, a subset of `columns`), parameters numbered from 1.
    fn upsert_sql(&self, table: &str, columns: &[String], key: &[String], rows: usize) -> String;

    /// `CREATE TABLE IF NOT EXISTS` of the checkpoint table `table` (quoted): one row per
    /// checkpoint key with its state (JSON text) and when it was last stored.
    fn checkpoint_table_sql(&self, table: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (checkpoint_key varchar({CHECKPOINT_KEY_MAX_CHARS}) NOT NULL PRIMARY KEY, \
             state text NOT NULL, updated_at timestamp NOT NULL)"
        )
    }

    /// Inserts or replaces one checkpoint in `table` (quoted); parameters: key, state.
    fn checkpoint_upsert_sql(&self, table: &str) -> String {
        format!(
            "INSERT INTO {table} (checkpoint_key, state, updated_at) VALUES ({}, {}, CURRENT_TIMESTAMP) \
             ON CONFLICT (checkpoint_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            self.placeholder(1),
            self.placeholder(2)
        )
    }

    /// Selects the state of one checkpoint from `table` (quoted); parameter: key.
    fn checkpoint_select_sql(&self, table: &str) -> String {
        format!(
            "SELECT state FROM {table} WHERE checkpoint_key = {}",
            self.placeholder(1)
        )
    }

    /// The SQL selecting at most `limit` rows with `select`, for engines that spell it
    /// differently (SQL Server `TOP`).
    fn limit_zero(&self, select_from: &str) -> String {
        format!("SELECT * FROM ({select_from}) AS grimos_q LIMIT 0")
    }
}

/// The `VALUES` rows of a multi-row statement: `(p1, p2), (p3, p4)`, parameters numbered
/// from `first`.
pub fn values_rows(dialect: &dyn Dialect, width: usize, rows: usize, first: usize) -> String {
    let mut sql = String::with_capacity(rows * width * 4);
    let mut index = first;
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..width {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&dialect.placeholder(index));
            index += 1;
        }
        sql.push(')');
    }
    sql
}

/// A multi-row `INSERT` of `rows` rows (identifiers already quoted).
pub fn insert_sql(dialect: &dyn Dialect, table: &str, columns: &[String], rows: usize) -> String {
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        values_rows(dialect, columns.len(), rows, 1)
    )
}

/// `UPDATE table SET a = p1, b = p2 WHERE k = p3` (identifiers already quoted).
/// With no column to set, the key is set to itself (an existence check).
pub fn update_sql(dialect: &dyn Dialect, table: &str, set: &[String], key: &[String]) -> String {
    let mut index = 0;
    let mut next = || {
        index += 1;
        dialect.placeholder(index)
    };
    let assignments: Vec<String> = if set.is_empty() {
        key.iter().map(|k| format!("{k} = {k}")).collect()
    } else {
        set.iter().map(|c| format!("{c} = {}", next())).collect()
    };
    let condition: Vec<String> = key.iter().map(|k| format!("{k} = {}", next())).collect();
    format!(
        "UPDATE {table} SET {} WHERE {}",
        assignments.join(", "),
        condition.join(" AND ")
    )
}

/// `DELETE FROM table WHERE k = p1 AND ...` (identifiers already quoted).
pub fn delete_sql(dialect: &dyn Dialect, table: &str, key: &[String]) -> String {
    let condition: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} = {}", dialect.placeholder(i + 1)))
        .collect();
    format!("DELETE FROM {table} WHERE {}", condition.join(" AND "))
}

/// A lexicographic "after this position" predicate over `columns` (quoted, with their
/// native types): `(a > p1) OR (a = p2 AND b > p3) ...`, parameters numbered from `first`.
/// Returns the SQL and, for each parameter, the index of the column whose value it binds.
pub fn keyset_predicate(
    dialect: &dyn Dialect,
    columns: &[(String, String)],
    first: usize,
) -> (String, Vec<usize>) {
    keyset_predicate_with(columns, first, |index, native| {
        dialect.typed_placeholder(index, native)
    })
}

/// [`keyset_predicate`] with the value of placeholder `index` (from `first`, for a column
/// of native type `native`) written by `value`: a placeholder or an inline literal.
pub fn keyset_predicate_with(
    columns: &[(String, String)],
    first: usize,
    mut value: impl FnMut(usize, &str) -> String,
) -> (String, Vec<usize>) {
    let mut index = first;
    let mut binds = Vec::new();
    let mut alternatives = Vec::new();
    for last in 0..columns.len() {
        let mut terms = Vec::new();
        for (position, (column, native)) in columns.iter().enumerate().take(last + 1) {
            let op = if position == last { ">" } else { "=" };
            terms.push(format!("{column} {op} {}", value(index, native)));
            binds.push(position);
            index += 1;
        }
        alternatives.push(format!("({})", terms.join(" AND ")));
    }
    (alternatives.join(" OR "), binds)
}

/// Splits `precision,scale` out of a native type like `numeric(12, 2)`.
pub(crate) fn type_arguments(native: &str) -> (Option<u16>, Option<u16>) {
    let Some(open) = native.find('(') else {
        return (None, None);
    };
    let inner = native[open + 1..].split(')').next().unwrap_or_default();
    let mut numbers = inner.split(',').map(|s| s.trim().parse::<u16>().ok());
    (numbers.next().flatten(), numbers.next().flatten())
}

/// The base name of a native type, lowercase, without arguments: `NUMERIC(12,2)` -> `numeric`.
pub(crate) fn base_type(native: &str) -> String {
    native
        .split('(')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// A decimal type from a native type with optional `(precision, scale)`.
pub(crate) fn decimal_of(native: &str) -> FieldType {
    let (precision, scale) = type_arguments(native);
    FieldType::Decimal {
        precision,
        scale: scale.or(precision.map(|_| 0)),
    }
}

/// `ON CONFLICT (key) DO UPDATE SET ...` (identifiers already quoted), for PostgreSQL's
/// set-based upsert from a staging table.
pub(crate) fn postgres_on_conflict(columns: &[String], key: &[String]) -> String {
    postgres::on_conflict(columns, key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn table_names_split_into_parts() {
        let cases = [
            ("customers", None, "customers"),
            ("public.customers", Some("public"), "customers"),
            ("\"my.schema\".\"a\"\"b\"", Some("my.schema"), "a\"b"),
            ("\"x; DROP TABLE y; --\"", None, "x; DROP TABLE y; --"),
        ];
        for (text, schema, name) in cases {
            let parsed = TableName::parse(text).unwrap();
            assert_eq!(parsed.schema.as_deref(), schema, "{text}");
            assert_eq!(parsed.name, name, "{text}");
        }
        for bad in ["", "a..b", "a.b.c", ".a", "\"open", "\"a\"b", "a\0b"] {
            assert!(TableName::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn every_dialect_doubles_its_closing_quote() {
        let cases: [(&dyn Dialect, &str, &str); 4] = [
            (
                &PostgresDialect,
                "a\"; DROP TABLE x; --",
                "\"a\"\"; DROP TABLE x; --\"",
            ),
            (&SqliteDialect, "we\"ird", "\"we\"\"ird\""),
            (&MySqlDialect, "a`b", "`a``b`"),
            (&MssqlDialect, "a]b[c", "[a]]b[c]"),
        ];
        for (dialect, ident, quoted) in cases {
            assert_eq!(dialect.quote_identifier(ident).unwrap(), quoted);
        }
        assert!(PostgresDialect.quote_identifier("").is_err());
        assert!(MySqlDialect.quote_identifier("a\0").is_err());
    }

    #[test]
    fn schema_qualified_names_quote_each_part() {
        let table = TableName::parse("public.customers").unwrap();
        assert_eq!(
            PostgresDialect.quote_table(&table).unwrap(),
            "\"public\".\"customers\""
        );
        assert_eq!(
            MssqlDialect.quote_table(&table).unwrap(),
            "[public].[customers]"
        );
    }

    #[test]
    fn keyset_predicates_are_lexicographic() {
        let columns = vec![
            ("\"ts\"".to_owned(), "timestamptz".to_owned()),
            ("\"id\"".to_owned(), "int8".to_owned()),
        ];
        let (sql, binds) = keyset_predicate(&PostgresDialect, &columns, 1);
        assert_eq!(
            sql,
            "(\"ts\" > CAST($1 AS timestamptz)) OR (\"ts\" = CAST($2 AS timestamptz) AND \"id\" > CAST($3 AS int8))"
        );
        assert_eq!(binds, vec![0, 0, 1]);
        let (sql, _) = keyset_predicate(&MySqlDialect, &columns[..1], 1);
        assert_eq!(sql, "(\"ts\" > ?)");
    }

    #[test]
    fn statements_are_built_from_placeholders_only() {
        let columns = vec!["`a`".to_owned(), "`b`".to_owned()];
        assert_eq!(
            insert_sql(&MySqlDialect, "`t`", &columns, 2),
            "INSERT INTO `t` (`a`, `b`) VALUES (?, ?), (?, ?)"
        );
        assert_eq!(
            update_sql(
                &MssqlDialect,
                "[t]",
                &["[b]".to_owned()],
                &["[a]".to_owned()]
            ),
            "UPDATE [t] SET [b] = @P1 WHERE [a] = @P2"
        );
        assert_eq!(
            delete_sql(&PostgresDialect, "\"t\"", &["\"a\"".to_owned()]),
            "DELETE FROM \"t\" WHERE \"a\" = $1"
        );
    }

    #[test]
    fn checkpoint_statements_per_dialect() {
        let cases: [(&dyn Dialect, &str, [&str; 3]); 4] = [
            (
                &PostgresDialect,
                "\"grimos_checkpoints\"",
                [
                    "CREATE TABLE IF NOT EXISTS \"grimos_checkpoints\" (checkpoint_key varchar(200) NOT NULL PRIMARY KEY, state text NOT NULL, updated_at timestamptz NOT NULL)",
                    "INSERT INTO \"grimos_checkpoints\" (checkpoint_key, state, updated_at) VALUES ($1, $2, CURRENT_TIMESTAMP) ON CONFLICT (checkpoint_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                    "SELECT state FROM \"grimos_checkpoints\" WHERE checkpoint_key = $1",
                ],
            ),
            (
                &SqliteDialect,
                "\"cp\"",
                [
                    "CREATE TABLE IF NOT EXISTS \"cp\" (checkpoint_key varchar(200) NOT NULL PRIMARY KEY, state text NOT NULL, updated_at timestamp NOT NULL)",
                    "INSERT INTO \"cp\" (checkpoint_key, state, updated_at) VALUES (?, ?, CURRENT_TIMESTAMP) ON CONFLICT (checkpoint_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                    "SELECT state FROM \"cp\" WHERE checkpoint_key = ?",
                ],
            ),
            (
                &MySqlDialect,
                "`cp`",
                [
                    "CREATE TABLE IF NOT EXISTS `cp` (checkpoint_key varchar(200) NOT NULL PRIMARY KEY, state longtext NOT NULL, updated_at datetime(6) NOT NULL)",
                    "INSERT INTO `cp` (checkpoint_key, state, updated_at) VALUES (?, ?, CURRENT_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE state = VALUES(state), updated_at = VALUES(updated_at)",
                    "SELECT state FROM `cp` WHERE checkpoint_key = ?",
                ],
            ),
            (
                &MssqlDialect,
                "[dbo].[it's]",
                [
                    "IF OBJECT_ID(N'[dbo].[it''s]', N'U') IS NULL CREATE TABLE [dbo].[it's] (checkpoint_key nvarchar(200) NOT NULL PRIMARY KEY, state nvarchar(max) NOT NULL, updated_at datetime2 NOT NULL)",
                    "MERGE INTO [dbo].[it's] WITH (HOLDLOCK) AS target USING (VALUES (@P1, @P2)) AS source (checkpoint_key, state) ON target.checkpoint_key = source.checkpoint_key WHEN MATCHED THEN UPDATE SET state = source.state, updated_at = SYSUTCDATETIME() WHEN NOT MATCHED THEN INSERT (checkpoint_key, state, updated_at) VALUES (source.checkpoint_key, source.state, SYSUTCDATETIME());",
                    "SELECT state FROM [dbo].[it's] WHERE checkpoint_key = @P1",
                ],
            ),
        ];
        for (dialect, table, [create, upsert, select]) in cases {
            assert_eq!(dialect.checkpoint_table_sql(table), create, "{dialect:?}");
            assert_eq!(dialect.checkpoint_upsert_sql(table), upsert, "{dialect:?}");
            assert_eq!(dialect.checkpoint_select_sql(table), select, "{dialect:?}");
        }
    }

    #[test]
    fn engines_are_recognised_by_scheme() {
        assert_eq!(Engine::from_url("postgres://x/y"), Some(Engine::Postgres));
        assert_eq!(Engine::from_url("postgresql://x/y"), Some(Engine::Postgres));
        assert_eq!(Engine::from_url("mysql://x/y"), Some(Engine::MySql));
        assert_eq!(Engine::from_url("sqlite::memory:"), Some(Engine::Sqlite));
        assert_eq!(Engine::from_url("mssql://x/y"), Some(Engine::Mssql));
        assert_eq!(Engine::from_url("oracle://x"), None);
    }
}
