//! SQL Server: `[ident]`, `@P1`, 2,100 parameters, 1,000 rows per `VALUES`, `MERGE`.

use connector_sdk::FieldType;

use super::{Dialect, Engine, base_type, decimal_of, values_rows};

/// The SQL Server dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct MssqlDialect;

impl Dialect for MssqlDialect {
    fn engine(&self) -> Engine {
        Engine::Mssql
    }

    fn quote_chars(&self) -> (char, char) {
        ('[', ']')
    }

    fn placeholder(&self, index: usize) -> String {
        format!("@P{index}")
    }

    /// SQL Server accepts at most 2,100 parameters per request; `sp_executesql` itself
    /// takes some, so stay a little below.
    fn max_parameters(&self) -> usize {
        2_098
    }

    /// A table value constructor holds at most 1,000 rows.
    fn max_rows_per_statement(&self) -> usize {
        1_000
    }

    fn map_type(&self, native: &str) -> FieldType {
        match base_type(native).as_str() {
            "bit" => FieldType::Boolean,
            "tinyint" | "smallint" | "int" | "bigint" => FieldType::Integer,
            "real" | "float" => FieldType::Number,
            "decimal" | "numeric" => decimal_of(native),
            "money" => FieldType::decimal(19, 4),
            "smallmoney" => FieldType::decimal(10, 4),
            "char" | "varchar" | "nchar" | "nvarchar" | "text" | "ntext" | "xml" => {
                FieldType::String
            }
            "date" => FieldType::Date,
            "time" => FieldType::Time,
            "datetime" | "datetime2" | "smalldatetime" => FieldType::Timestamp,
            "datetimeoffset" => FieldType::TimestampTz,
            "binary" | "varbinary" | "image" | "rowversion" | "timestamp" => FieldType::Bytes,
            "uniqueidentifier" => FieldType::Uuid,
            _ => FieldType::unknown(native.trim()),
        }
    }

    /// `MERGE INTO t WITH (HOLDLOCK) USING (VALUES ...) AS source (cols) ON key match
    /// WHEN MATCHED THEN UPDATE ... WHEN NOT MATCHED THEN INSERT ...;`
    fn upsert_sql(&self, table: &str, columns: &[String], key: &[String], rows: usize) -> String {
        let on: Vec<String> = key
            .iter()
            .map(|k| format!("target.{k} = source.{k}"))
            .collect();
        let updates: Vec<String> = columns
            .iter()
            .filter(|c| !key.contains(c))
            .map(|c| format!("target.{c} = source.{c}"))
            .collect();
        let source_columns: Vec<String> = columns.iter().map(|c| format!("source.{c}")).collect();
        let matched = if updates.is_empty() {
            String::new()
        } else {
            format!(" WHEN MATCHED THEN UPDATE SET {}", updates.join(", "))
        };
        format!(
            "MERGE INTO {table} WITH (HOLDLOCK) AS target USING (VALUES {}) AS source ({}) ON {}{matched} WHEN NOT MATCHED THEN INSERT ({}) VALUES ({});",
            values_rows(self, columns.len(), rows, 1),
            columns.join(", "),
            on.join(" AND "),
            columns.join(", "),
            source_columns.join(", ")
        )
    }

    fn checkpoint_table_sql(&self, table: &str) -> String {
        format!(
            "IF OBJECT_ID(N'{}', N'U') IS NULL CREATE TABLE {table} (checkpoint_key nvarchar({}) NOT NULL PRIMARY KEY, \
             state nvarchar(max) NOT NULL, updated_at datetime2 NOT NULL)",
            table.replace('\'', "''"),
            super::CHECKPOINT_KEY_MAX_CHARS
        )
    }

    fn checkpoint_upsert_sql(&self, table: &str) -> String {
        format!(
            "MERGE INTO {table} WITH (HOLDLOCK) AS target USING (VALUES (@P1, @P2)) AS source (checkpoint_key, state) \
             ON target.checkpoint_key = source.checkpoint_key \
             WHEN MATCHED THEN UPDATE SET state = source.state, updated_at = SYSUTCDATETIME() \
             WHEN NOT MATCHED THEN INSERT (checkpoint_key, state, updated_at) \
             VALUES (source.checkpoint_key, source.state, SYSUTCDATETIME());"
        )
    }

    fn limit_zero(&self, select_from: &str) -> String {
        format!("SELECT TOP 0 * FROM ({select_from}) AS grimos_q")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn parameters_are_numbered_at_p() {
        assert_eq!(MssqlDialect.placeholder(1), "@P1");
        assert_eq!(MssqlDialect.placeholder(2100), "@P2100");
        assert_eq!(
            crate::dialect::insert_sql(&MssqlDialect, "[t]", &["[a]".into(), "[b]".into()], 2),
            "INSERT INTO [t] ([a], [b]) VALUES (@P1, @P2), (@P3, @P4)"
        );
    }

    #[test]
    fn batches_respect_the_parameter_and_row_limits() {
        use crate::write::rows_per_statement;
        // 2,098 parameters / 7 columns = 299 rows.
        assert_eq!(rows_per_statement(&MssqlDialect, 7), 299);
        // 1 column: the 1,000-row VALUES limit binds first.
        assert_eq!(rows_per_statement(&MssqlDialect, 1), 1_000);
        assert_eq!(rows_per_statement(&MssqlDialect, 3_000), 1);
        assert_eq!(rows_per_statement(&crate::dialect::MySqlDialect, 5), 13_107);
    }

    #[test]
    fn upserts_use_merge() {
        let columns = vec!["[id]".to_owned(), "[name]".to_owned()];
        let key = vec!["[id]".to_owned()];
        assert_eq!(
            MssqlDialect.upsert_sql("[dbo].[t]", &columns, &key, 2),
            "MERGE INTO [dbo].[t] WITH (HOLDLOCK) AS target USING (VALUES (@P1, @P2), (@P3, @P4)) AS source ([id], [name]) ON target.[id] = source.[id] WHEN MATCHED THEN UPDATE SET target.[name] = source.[name] WHEN NOT MATCHED THEN INSERT ([id], [name]) VALUES (source.[id], source.[name]);"
        );
    }

    #[test]
    fn native_types_map_onto_the_common_model() {
        let cases = [
            ("bit", FieldType::Boolean),
            ("bigint", FieldType::Integer),
            ("decimal(18,4)", FieldType::decimal(18, 4)),
            ("nvarchar(max)", FieldType::String),
            ("datetime2", FieldType::Timestamp),
            ("datetimeoffset", FieldType::TimestampTz),
            ("varbinary(max)", FieldType::Bytes),
            ("uniqueidentifier", FieldType::Uuid),
            ("geography", FieldType::unknown("geography")),
        ];
        for (native, expected) in cases {
            assert_eq!(MssqlDialect.map_type(native), expected, "{native}");
        }
    }
}
