//! PostgreSQL: `"ident"`, `$1`, 65,535 parameters, `ON CONFLICT (...) DO UPDATE`.

use connector_sdk::FieldType;

use super::{Dialect, Engine, base_type, decimal_of};

/// The PostgreSQL dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresDialect;

impl Dialect for PostgresDialect {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn quote_chars(&self) -> (char, char) {
        ('"', '"')
    }

    fn placeholder(&self, index: usize) -> String {
        format!("${index}")
    }

    /// Values are bound as text and cast to the column type, so one bind path serves every
    /// type (`CAST($1 AS timestamp with time zone)`). `native` comes from the catalog
    /// (`format_type`), never from user input.
    fn typed_placeholder(&self, index: usize, native: &str) -> String {
        format!("CAST(${index} AS {native})")
    }

    fn max_parameters(&self) -> usize {
        65_535
    }

    fn map_type(&self, native: &str) -> FieldType {
        let lower = native.trim().to_ascii_lowercase();
        if let Some(item) = lower.strip_suffix("[]") {
            return FieldType::array(self.map_type(item));
        }
        if let Some(item) = lower.strip_prefix('_') {
            // Array type names in pg_type (`_int4`).
            return FieldType::array(self.map_type(item));
        }
        match base_type(&lower).as_str() {
            "boolean" | "bool" => FieldType::Boolean,
            "smallint" | "integer" | "bigint" | "int2" | "int4" | "int8" | "int" | "oid"
            | "smallserial" | "serial" | "bigserial" => FieldType::Integer,
            "real" | "double precision" | "float4" | "float8" => FieldType::Number,
            "numeric" | "decimal" => decimal_of(&lower),
            "money" => FieldType::decimal(19, 2),
            "text" | "character varying" | "varchar" | "character" | "char" | "bpchar" | "name"
            | "citext" | "\"char\"" => FieldType::String,
            "date" => FieldType::Date,
            "time" | "time without time zone" => FieldType::Time,
            "timestamp" | "timestamp without time zone" => FieldType::Timestamp,
            "timestamptz" | "timestamp with time zone" => FieldType::TimestampTz,
            "json" | "jsonb" => FieldType::Json,
            "bytea" => FieldType::Bytes,
            "uuid" => FieldType::Uuid,
            _ => FieldType::unknown(native.trim()),
        }
    }

    fn upsert_sql(&self, table: &str, columns: &[String], key: &[String], rows: usize) -> String {
        let insert = super::insert_sql(self, table, columns, rows);
        format!("{insert} {}", on_conflict(columns, key))
    }

    fn checkpoint_table_sql(&self, table: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (checkpoint_key varchar({}) NOT NULL PRIMARY KEY, \
             state text NOT NULL, updated_at timestamptz NOT NULL)",
            super::CHECKPOINT_KEY_MAX_CHARS
        )
    }
}

/// `ON CONFLICT (key) DO UPDATE SET c = EXCLUDED.c` (or `DO NOTHING` when every column is
/// part of the key). Shared by PostgreSQL and SQLite.
pub(crate) fn on_conflict(columns: &[String], key: &[String]) -> String {
    let updates: Vec<String> = columns
        .iter()
        .filter(|c| !key.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    if updates.is_empty() {
        format!("ON CONFLICT ({}) DO NOTHING", key.join(", "))
    } else {
        format!(
            "ON CONFLICT ({}) DO UPDATE SET {}",
            key.join(", "),
            updates.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn native_types_map_onto_the_common_model() {
        let d = PostgresDialect;
        let cases = [
            ("integer", FieldType::Integer),
            ("INT8", FieldType::Integer),
            ("numeric(12,2)", FieldType::decimal(12, 2)),
            (
                "numeric",
                FieldType::Decimal {
                    precision: None,
                    scale: None,
                },
            ),
            ("timestamp with time zone", FieldType::TimestampTz),
            ("TIMESTAMP", FieldType::Timestamp),
            ("jsonb", FieldType::Json),
            ("bytea", FieldType::Bytes),
            ("uuid", FieldType::Uuid),
            ("boolean", FieldType::Boolean),
            ("character varying(255)", FieldType::String),
            ("integer[]", FieldType::array(FieldType::Integer)),
            ("TEXT[]", FieldType::array(FieldType::String)),
            ("geometry", FieldType::unknown("geometry")),
            ("interval", FieldType::unknown("interval")),
        ];
        for (native, expected) in cases {
            assert_eq!(d.map_type(native), expected, "{native}");
        }
    }

    #[test]
    fn upserts_use_on_conflict() {
        let columns = vec!["\"id\"".to_owned(), "\"name\"".to_owned()];
        let key = vec!["\"id\"".to_owned()];
        assert_eq!(
            PostgresDialect.upsert_sql("\"t\"", &columns, &key, 1),
            "INSERT INTO \"t\" (\"id\", \"name\") VALUES ($1, $2) ON CONFLICT (\"id\") DO UPDATE SET \"name\" = excluded.\"name\""
        );
        assert_eq!(
            PostgresDialect.upsert_sql("\"t\"", &key, &key, 2),
            "INSERT INTO \"t\" (\"id\") VALUES ($1), ($2) ON CONFLICT (\"id\") DO NOTHING"
        );
    }
}
