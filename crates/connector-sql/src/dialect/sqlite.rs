//! SQLite: `"ident"`, `?`, 32,766 parameters, `ON CONFLICT (...) DO UPDATE`, type affinity.

use connector_sdk::FieldType;

use super::{Dialect, Engine, base_type, decimal_of};

/// The SQLite dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn quote_chars(&self) -> (char, char) {
        ('"', '"')
    }

    fn placeholder(&self, _index: usize) -> String {
        "?".into()
    }

    /// `SQLITE_MAX_VARIABLE_NUMBER` defaults to 32,766 since SQLite 3.32.
    fn max_parameters(&self) -> usize {
        32_766
    }

    /// Declared types follow SQLite's affinity rules, refined by the common spellings
    /// (`BOOLEAN`, `DATETIME`, `JSON`, `DECIMAL(p,s)`, `UUID`).
    fn map_type(&self, native: &str) -> FieldType {
        let lower = base_type(native);
        match lower.as_str() {
            "boolean" | "bool" => return FieldType::Boolean,
            "date" => return FieldType::Date,
            "time" => return FieldType::Time,
            "datetime" | "timestamp" => return FieldType::Timestamp,
            "timestamptz" | "timestamp with time zone" => return FieldType::TimestampTz,
            "json" | "jsonb" => return FieldType::Json,
            "uuid" => return FieldType::Uuid,
            "decimal" | "numeric" => return decimal_of(native),
            "" => return FieldType::unknown("(none)"),
            _ => {}
        }
        // Affinity rules (https://www.sqlite.org/datatype3.html#determination_of_column_affinity).
        if lower.contains("int") {
            FieldType::Integer
        } else if lower.contains("char") || lower.contains("clob") || lower.contains("text") {
            FieldType::String
        } else if lower.contains("blob") {
            FieldType::Bytes
        } else if lower.contains("real") || lower.contains("floa") || lower.contains("doub") {
            FieldType::Number
        } else {
            FieldType::unknown(native.trim())
        }
    }

    fn upsert_sql(&self, table: &str, columns: &[String], key: &[String], rows: usize) -> String {
        let insert = super::insert_sql(self, table, columns, rows);
        format!("{insert} {}", super::postgres::on_conflict(columns, key))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn declared_types_follow_affinity() {
        let cases = [
            ("INTEGER", FieldType::Integer),
            ("BIGINT", FieldType::Integer),
            ("VARCHAR(20)", FieldType::String),
            ("TEXT", FieldType::String),
            ("BLOB", FieldType::Bytes),
            ("REAL", FieldType::Number),
            ("DECIMAL(10,3)", FieldType::decimal(10, 3)),
            ("BOOLEAN", FieldType::Boolean),
            ("DATETIME", FieldType::Timestamp),
            ("JSON", FieldType::Json),
            ("", FieldType::unknown("(none)")),
        ];
        for (native, expected) in cases {
            assert_eq!(SqliteDialect.map_type(native), expected, "{native}");
        }
    }

    #[test]
    fn parameters_are_positional_question_marks() {
        assert_eq!(SqliteDialect.placeholder(7), "?");
        assert_eq!(SqliteDialect.max_parameters(), 32_766);
    }
}
