//! MySQL / MariaDB: `` `ident` ``, `?`, 65,535 parameters, `ON DUPLICATE KEY UPDATE`.

use connector_sdk::FieldType;

use super::{Dialect, Engine, base_type, decimal_of};

/// The MySQL and MariaDB dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct MySqlDialect;

impl Dialect for MySqlDialect {
    fn engine(&self) -> Engine {
        Engine::MySql
    }

    fn quote_chars(&self) -> (char, char) {
        ('`', '`')
    }

    fn placeholder(&self, _index: usize) -> String {
        "?".into()
    }

    /// The protocol counts parameters in 16 bits.
    fn max_parameters(&self) -> usize {
        65_535
    }

    /// Native names come from `information_schema.COLUMNS.COLUMN_TYPE` (`tinyint(1)`,
    /// `decimal(12,2)`, `int(11) unsigned`) or from the driver (`BOOLEAN`, `DECIMAL`).
    fn map_type(&self, native: &str) -> FieldType {
        let lower = native.trim().to_ascii_lowercase();
        if lower.starts_with("tinyint(1)") || lower == "boolean" || lower == "bool" {
            return FieldType::Boolean;
        }
        match base_type(&lower)
            .split_whitespace()
            .next()
            .unwrap_or_default()
        {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => {
                FieldType::Integer
            }
            "float" | "double" | "real" => FieldType::Number,
            "decimal" | "numeric" | "dec" | "fixed" => decimal_of(&lower),
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum"
            | "set" => FieldType::String,
            "date" => FieldType::Date,
            "time" => FieldType::Time,
            "datetime" => FieldType::Timestamp,
            // TIMESTAMP is stored in UTC and read in the session zone, which the connector
            // pins to +00:00: an instant.
            "timestamp" => FieldType::TimestampTz,
            "json" => FieldType::Json,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                FieldType::Bytes
            }
            "uuid" => FieldType::Uuid,
            _ => FieldType::unknown(native.trim()),
        }
    }

    /// `VALUES(col)` rather than the `AS new` row alias, which MariaDB lacks.
    fn upsert_sql(&self, table: &str, columns: &[String], key: &[String], rows: usize) -> String {
        let insert = super::insert_sql(self, table, columns, rows);
        let mut updates: Vec<String> = columns
            .iter()
            .filter(|c| !key.contains(c))
            .map(|c| format!("{c} = VALUES({c})"))
            .collect();
        if updates.is_empty() {
            updates = key.iter().map(|k| format!("{k} = {k}")).collect();
        }
        format!("{insert} ON DUPLICATE KEY UPDATE {}", updates.join(", "))
    }

    fn checkpoint_table_sql(&self, table: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (checkpoint_key varchar({}) NOT NULL PRIMARY KEY, \
             state longtext NOT NULL, updated_at datetime(6) NOT NULL)",
            super::CHECKPOINT_KEY_MAX_CHARS
        )
    }

    fn checkpoint_upsert_sql(&self, table: &str) -> String {
        format!(
            "INSERT INTO {table} (checkpoint_key, state, updated_at) VALUES (?, ?, CURRENT_TIMESTAMP(6)) \
             ON DUPLICATE KEY UPDATE state = VALUES(state), updated_at = VALUES(updated_at)"
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn native_types_map_onto_the_common_model() {
        let cases = [
            ("tinyint(1)", FieldType::Boolean),
            ("BOOLEAN", FieldType::Boolean),
            ("int(11)", FieldType::Integer),
            ("bigint(20) unsigned", FieldType::Integer),
            ("decimal(38,10)", FieldType::decimal(38, 10)),
            ("varchar(255)", FieldType::String),
            ("datetime(6)", FieldType::Timestamp),
            ("timestamp", FieldType::TimestampTz),
            ("json", FieldType::Json),
            ("longblob", FieldType::Bytes),
            ("geometry", FieldType::unknown("geometry")),
        ];
        for (native, expected) in cases {
            assert_eq!(MySqlDialect.map_type(native), expected, "{native}");
        }
    }

    #[test]
    fn upserts_use_on_duplicate_key_update() {
        let columns = vec!["`id`".to_owned(), "`name`".to_owned()];
        let key = vec!["`id`".to_owned()];
        assert_eq!(
            MySqlDialect.upsert_sql("`t`", &columns, &key, 2),
            "INSERT INTO `t` (`id`, `name`) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE `name` = VALUES(`name`)"
        );
    }
}
