//! The connector configuration, its JSON Schema and its validation.
//!
//! ```yaml
//! type: sql
//! url: "postgres://grimos@127.0.0.1:5432/app"   # mysql://, sqlite://, mssql://
//! password: "vault:secret/app/db#password"      # optional secret reference
//! streams:
//!   - name: customers
//!     table: public.customers
//!     cursor_column: updated_at
//!   - name: big_orders
//!     query: "SELECT id, amount FROM orders WHERE amount > 100"
//! ```

use std::collections::HashSet;

use connector_sdk::{ConnectorError, Operation};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::dialect::{Engine, TableName};

/// The default number of rows per read batch.
pub const DEFAULT_BATCH_SIZE: usize = 5_000;

/// The default name of the checkpoint table.
pub const DEFAULT_CHECKPOINT_TABLE: &str = "grimos_checkpoints";

/// The default number of pooled connections.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 4;

/// The configuration of one SQL connection.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// Always `sql` (optional).
    #[serde(default, rename = "type")]
    pub connector_type: Option<String>,
    /// The connection URL: `postgres://`, `mysql://` (MariaDB too), `sqlite://`,
    /// `mssql://`. TLS options (`sslmode`, `ssl-mode`) are honoured. A password in it
    /// (`user:secret@`, `?password=`, `;Password=`) is refused: use [`Self::password`].
    pub url: String,
    /// A secret *reference* (`env:`, `file:`, `vault:`, `local:`) to the password, resolved
    /// at connect time.
    #[serde(default)]
    pub password: Option<String>,
    /// The configured streams. Tables and views not configured are still discoverable and
    /// readable by their name.
    #[serde(default)]
    pub streams: Vec<StreamConfig>,
    /// Rows per read batch (the reader's requested batch size caps it further).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Pooled connections (default 4).
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Schemas (MySQL: databases) to discover besides the configured streams; default the
    /// connection's own (`public`, the URL's database, `main`, `dbo`).
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The table holding the checkpoints written with batches (see
    /// [`crate::checkpoint`]), optionally schema-qualified; default
    /// [`DEFAULT_CHECKPOINT_TABLE`] in the connection's default schema.
    #[serde(default)]
    pub checkpoint_table: Option<String>,
}

/// One configured stream: a table (or view) or a read-only query.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// The stream name used in reads and writes.
    pub name: String,
    /// The table or view, optionally schema-qualified (`public.customers`).
    #[serde(default)]
    pub table: Option<String>,
    /// A read-only query: one `SELECT` (or `WITH`, `VALUES`, `TABLE`) statement, checked
    /// by [`crate::query_guard`] and run in the engine's read-only mode.
    #[serde(default)]
    pub query: Option<String>,
    /// The column for incremental reads.
    #[serde(default)]
    pub cursor_column: Option<String>,
    /// The key columns when the catalog has none (views, queries).
    #[serde(default)]
    pub primary_key: Option<Vec<String>>,
}

/// Where a configured stream's rows come from.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamSource {
    /// A table or view.
    Table(TableName),
    /// A read-only query.
    Query(String),
}

fn default_batch_size() -> usize {
    DEFAULT_BATCH_SIZE
}

fn default_max_connections() -> u32 {
    DEFAULT_MAX_CONNECTIONS
}

fn config_error(pointer: &str, detail: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::config(
        Operation::Build,
        format!("invalid configuration at `{pointer}`: {detail}"),
    )
}

/// Turns a serde path (`streams[0].table`) into a JSON Pointer (`/streams/0/table`).
fn to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Enum { variant } => {
                pointer.push('/');
                pointer.push_str(variant);
            }
            Segment::Unknown => pointer.push_str("/?"),
        }
    }
    if pointer.is_empty() {
        "/".into()
    } else {
        pointer
    }
}

impl SqlConfig {
    /// Parses and validates a configuration. Errors are [`connector_sdk::ErrorKind::Config`]
    /// and name the offending field as a JSON Pointer; they never contain the URL's password.
    pub fn from_value(value: Value) -> Result<Self, ConnectorError> {
        let config: Self = serde_path_to_error::deserialize(value).map_err(|err| {
            let pointer = to_pointer(err.path());
            // serde messages name fields and types, never values of strings.
            config_error(&pointer, err.into_inner())
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The engine the URL points at.
    pub fn engine(&self) -> Result<Engine, ConnectorError> {
        Engine::from_url(&self.url).ok_or_else(|| {
            config_error(
                "/url",
                format!(
                    "unsupported scheme in `{}`; use postgres://, mysql://, sqlite:// or mssql://",
                    redact_url(&self.url)
                ),
            )
        })
    }

    fn validate(&self) -> Result<(), ConnectorError> {
        if let Some(kind) = &self.connector_type
            && kind != "sql"
        {
            return Err(config_error(
                "/type",
                format!("expected `sql`, got `{kind}`"),
            ));
        }
        let engine = self.engine()?;
        check_url_credentials(&self.url)?;
        if let Some(reference) = &self.password
            && connector_sdk::secret::split_reference(reference).is_err()
        {
            return Err(config_error(
                "/password",
                "must be a secret reference (env:NAME, file:/path, vault:mount/path#field, local:name), not a password",
            ));
        }
        if self.batch_size == 0 {
            return Err(config_error("/batch_size", "must be at least 1"));
        }
        if self.max_connections == 0 {
            return Err(config_error("/max_connections", "must be at least 1"));
        }
        self.checkpoint_table()?;
        let mut names = HashSet::new();
        for (index, stream) in self.streams.iter().enumerate() {
            let at = |field: &str| format!("/streams/{index}/{field}");
            if stream.name.trim().is_empty() {
                return Err(config_error(&at("name"), "must not be empty"));
            }
            if !names.insert(stream.name.as_str()) {
                return Err(config_error(
                    &at("name"),
                    format!("stream `{}` is configured twice", stream.name),
                ));
            }
            let source = stream
                .source()
                .map_err(|(field, detail)| config_error(&at(field), detail))?;
            if let StreamSource::Query(sql) = &source {
                crate::query_guard::check(engine, sql)
                    .map_err(|detail| config_error(&at("query"), detail))?;
            }
            if let Some(cursor) = &stream.cursor_column {
                crate::dialect::check_identifier(cursor)
                    .map_err(|e| config_error(&at("cursor_column"), e))?;
            }
            for (k, column) in stream.primary_key.iter().flatten().enumerate() {
                crate::dialect::check_identifier(column)
                    .map_err(|e| config_error(&at(&format!("primary_key/{k}")), e))?;
            }
        }
        Ok(())
    }

    /// The checkpoint table (default [`DEFAULT_CHECKPOINT_TABLE`], unqualified).
    pub fn checkpoint_table(&self) -> Result<TableName, ConnectorError> {
        TableName::parse(
            self.checkpoint_table
                .as_deref()
                .unwrap_or(DEFAULT_CHECKPOINT_TABLE),
        )
        .map_err(|e| config_error("/checkpoint_table", e))
    }

    /// The configured stream called `name`.
    pub fn stream(&self, name: &str) -> Option<&StreamConfig> {
        self.streams.iter().find(|s| s.name == name)
    }

    /// The URL with any password replaced by `***`, for messages and logs.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

impl StreamConfig {
    /// The table or query; on error the field at fault and why.
    pub fn source(&self) -> Result<StreamSource, (&'static str, String)> {
        match (&self.table, &self.query) {
            (Some(table), None) => TableName::parse(table)
                .map(StreamSource::Table)
                .map_err(|e| ("table", e.to_string())),
            (None, Some(query)) if query.trim().is_empty() => {
                Err(("query", "must not be empty".into()))
            }
            (None, Some(query)) => Ok(StreamSource::Query(
                query.trim().trim_end_matches(';').to_owned(),
            )),
            (Some(_), Some(_)) => Err(("query", "give either `table` or `query`, not both".into())),
            (None, None) => Err(("table", "give either `table` or `query`".into())),
        }
    }
}

/// What a refused URL says: where the password goes instead.
pub const URL_PASSWORD_REFUSAL: &str = "the URL holds a password; put the password in the `password` field as a secret reference (e.g. local:db-password)";

/// Refuses a URL that carries a password: in its user info (`user:secret@`), as a query
/// parameter (`?password=`, `?pwd=`, `?sslpassword=`, percent-encoded or not) or as a
/// connection-string pair anywhere (`;Password=`). A user name alone is fine. The error
/// never repeats the URL.
pub fn check_url_credentials(url: &str) -> Result<(), ConnectorError> {
    let refused = || Err(config_error("/url", URL_PASSWORD_REFUSAL));
    // The user info as written, whether or not the rest parses: `user:secret@host`.
    if let Some((_, rest)) = url.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if let Some((user_info, _)) = authority.rsplit_once('@')
            && let Some((_, password)) = user_info.split_once(':')
            && !password.is_empty()
        {
            return refused();
        }
    }
    if let Ok(parsed) = url::Url::parse(url) {
        if parsed.password().is_some_and(|p| !p.is_empty()) {
            return refused();
        }
        if parsed.query_pairs().any(|(key, _)| is_password_key(&key)) {
            return refused();
        }
    }
    let decoded = percent_decode(url);
    for text in [url, decoded.as_str()] {
        let lower = text.to_ascii_lowercase();
        let mut rest = lower.as_str();
        while let Some(at) = rest.find('=') {
            let key = rest[..at]
                .rsplit(['?', '&', ';', '/', ':', '@', ' '])
                .next()
                .unwrap_or_default();
            if is_password_key(key.trim()) {
                return refused();
            }
            rest = &rest[at + 1..];
        }
    }
    Ok(())
}

/// `%XX` sequences decoded (invalid ones kept as they are), `+` read as a space.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_password_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key == "pwd" || key == "passwd" || key == "pass"
}

/// Replaces the password of a URL (`scheme://user:secret@host`) with `***`. Text that does
/// not parse as a URL is returned up to its scheme only, in case it hides a secret.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            let mut pairs: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    if lower.contains("password") || lower.contains("pwd") {
                        (k.into_owned(), "***".to_owned())
                    } else {
                        (k.into_owned(), v.into_owned())
                    }
                })
                .collect();
            if !pairs.is_empty() {
                parsed
                    .query_pairs_mut()
                    .clear()
                    .extend_pairs(pairs.drain(..));
            }
            parsed.to_string()
        }
        Err(_) => match url.split_once(':') {
            Some((scheme, _)) => format!("{scheme}:***"),
            None => "***".into(),
        },
    }
}

/// The URL's schema pattern: a known scheme and no password in the user info (`user@` is
/// fine, `user:secret@` is not).
const URL_PATTERN: &str = "^(?:(?:postgres|postgresql|mysql|mariadb|sqlite|mssql|sqlserver)://(?:[^/?#@:]*@)?[^/?#@]*(?:[/?#].*)?|sqlite:(?:[^/].*|/(?:[^/].*)?)?)$";

/// What the URL must not contain: a password parameter (`?password=`, `;Password=`, `pwd=`).
/// Percent-encoded key letters (`%70assword=`) are beyond a pattern: validation refuses
/// them.
const URL_PASSWORD_PATTERN: &str =
    "[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]\\s*(?:=|%3[Dd])|[?&;][Pp][Ww][Dd]\\s*(?:=|%3[Dd])";

/// A query stream starts (after blanks, comments and parentheses) with SELECT, WITH, VALUES
/// or TABLE; the rest is checked by [`crate::query_guard`].
const QUERY_PATTERN: &str = "^(?:\\s|\\(|--[^\\n]*(?:\\n|$)|/\\*[^*]*\\*+(?:[^/*][^*]*\\*+)*/)*(?:[Ss][Ee][Ll][Ee][Cc][Tt]|[Ww][Ii][Tt][Hh]|[Vv][Aa][Ll][Uu][Ee][Ss]|[Tt][Aa][Bb][Ll][Ee])(?:\\s|\\(|\\*|$)";

/// The JSON Schema of [`SqlConfig`].
pub fn spec() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "SQL database",
        "type": "object",
        "additionalProperties": false,
        "required": ["url"],
        "properties": {
            "type": {"type": "string", "const": "sql"},
            "url": {
                "type": "string",
                "description": "Connection URL: postgres://user@host:5432/db, mysql://user@host:3306/db (MariaDB too), sqlite:///path/file.db, mssql://user@host:1433/db. TLS: ?sslmode=require (PostgreSQL), ?ssl-mode=REQUIRED (MySQL), ?encrypt=true&trust_server_certificate=false (SQL Server). No password here (user:secret@, ?password=, ;Password= are refused): put the password in the `password` field as a secret reference (e.g. local:db-password). grimOS's own database is refused.",
                "pattern": URL_PATTERN,
                "not": {"pattern": URL_PASSWORD_PATTERN}
            },
            "password": {
                "type": "string",
                "description": "Secret reference to the password: env:NAME, file:/path, vault:mount/path#field or local:name.",
                "pattern": "^[A-Za-z][A-Za-z0-9+.-]*:.+",
                "x-secret": true
            },
            "streams": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "table": {"type": "string", "minLength": 1, "description": "table or view, optionally schema.table; quote parts containing dots with \"...\""},
                        "query": {"type": "string", "minLength": 1, "pattern": QUERY_PATTERN, "description": "one read-only SELECT (or WITH, VALUES, TABLE) statement, run in a read-only transaction; no `;`, no data-changing keyword"},
                        "cursor_column": {"type": "string", "minLength": 1, "description": "column for incremental reads"},
                        "primary_key": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "key columns when the catalog has none (views, queries)"}
                    },
                    "oneOf": [
                        {"required": ["table"], "not": {"required": ["query"]}},
                        {"required": ["query"], "not": {"required": ["table"]}}
                    ]
                }
            },
            "batch_size": {"type": "integer", "minimum": 1, "default": DEFAULT_BATCH_SIZE, "description": "rows per read batch"},
            "max_connections": {"type": "integer", "minimum": 1, "default": DEFAULT_MAX_CONNECTIONS},
            "schemas": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "schemas (MySQL: databases) to discover"},
            "checkpoint_table": {"type": "string", "minLength": 1, "default": DEFAULT_CHECKPOINT_TABLE, "description": "table (optionally schema.table) where flow checkpoints are committed with the rows written; created on first use"}
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn detail(value: Value) -> String {
        SqlConfig::from_value(value)
            .unwrap_err()
            .detail()
            .to_owned()
    }

    #[test]
    fn a_full_configuration_parses() {
        let config = SqlConfig::from_value(json!({
            "type": "sql",
            "url": "postgres://grimos@127.0.0.1:5432/app",
            "password": "vault:secret/app/db#password",
            "streams": [
                {"name": "customers", "table": "public.customers", "cursor_column": "updated_at"},
                {"name": "big_orders", "query": "SELECT id, amount FROM orders WHERE amount > 100;"}
            ]
        }))
        .unwrap();
        assert_eq!(config.engine().unwrap(), Engine::Postgres);
        assert_eq!(config.batch_size, DEFAULT_BATCH_SIZE);
        assert_eq!(
            config.streams[0].source().unwrap(),
            StreamSource::Table(TableName::parse("public.customers").unwrap())
        );
        assert_eq!(
            config.streams[1].source().unwrap(),
            StreamSource::Query("SELECT id, amount FROM orders WHERE amount > 100".into())
        );
    }

    #[test]
    fn errors_name_the_field_by_json_pointer() {
        let cases = [
            (
                json!({"url": "postgres://h/db", "streams": [{"name": "a", "tabel": "x"}]}),
                "/streams/0/tabel",
            ),
            (
                json!({"url": "postgres://h/db", "streams": [{"name": "a"}]}),
                "/streams/0/table",
            ),
            (
                json!({"url": "postgres://h/db", "streams": [{"name": "a", "table": "t", "query": "q"}]}),
                "/streams/0/query",
            ),
            (
                json!({"url": "postgres://h/db", "streams": [{"name": "a", "table": "a.b.c"}]}),
                "/streams/0/table",
            ),
            (
                json!({"url": "postgres://h/db", "streams": [{"name": "a", "table": "t"}, {"name": "a", "table": "u"}]}),
                "/streams/1/name",
            ),
            (json!({"url": "oracle://h/db"}), "/url"),
            (json!({"url": 5}), "/url"),
            (json!({}), "/"),
            (
                json!({"url": "postgres://h/db", "password": "hunter2"}),
                "/password",
            ),
            (
                json!({"url": "postgres://h/db", "batch_size": 0}),
                "/batch_size",
            ),
            (json!({"url": "postgres://h/db", "type": "rest"}), "/type"),
            (
                json!({"url": "postgres://h/db", "checkpoint_table": "a.b.c"}),
                "/checkpoint_table",
            ),
        ];
        for (config, pointer) in cases {
            let detail = detail(config.clone());
            assert!(
                detail.contains(&format!("`{pointer}`")),
                "{config}: {detail} should name {pointer}"
            );
        }
    }

    #[test]
    fn a_password_in_a_rejected_configuration_is_not_echoed() {
        let detail = detail(json!({"url": "postgres://h/db", "password": "hunter2"}));
        assert!(!detail.contains("hunter2"), "{detail}");
        let detail = detail_of_url("oracle://u:hunter2@h/db");
        assert!(!detail.contains("hunter2"), "{detail}");
    }

    fn detail_of_url(url: &str) -> String {
        detail(json!({"url": url}))
    }

    const SECRET: &str = "hunter2secret";

    fn password_urls() -> Vec<String> {
        [
            "postgres://app:{s}@127.0.0.1:5432/test",
            "postgresql://app:{s}@db/app?sslmode=require",
            "mysql://root:{s}@127.0.0.1:3306/test",
            "mariadb://root:{s}@db/app",
            "mssql://sa:{s}@db:1433/app",
            "sqlserver://sa:{s}@db/app",
            "postgres://app:{s}@[bad",
            "postgres://app@db/app?password={s}",
            "postgres://app@db/app?sslmode=require&PassWord={s}",
            "postgres://app@db/app?%70assword={s}",
            "postgres://app@db/app?sslpassword={s}",
            "postgres://app@db/app?options=-c%20password%3D{s}",
            "mssql://sa@db/app;Password={s}",
            "mssql://sa@db/app?pwd={s}",
        ]
        .iter()
        .map(|u| u.replace("{s}", SECRET))
        .collect()
    }

    #[test]
    fn passwords_in_urls_are_refused_without_being_repeated() {
        for url in password_urls() {
            let err = SqlConfig::from_value(json!({"url": url})).unwrap_err();
            assert_eq!(err.kind(), connector_sdk::ErrorKind::Config, "{url}");
            assert!(err.detail().contains("`/url`"), "{url}: {err}");
            assert!(
                err.detail()
                    .contains("put the password in the `password` field as a secret reference"),
                "{url}: {err}"
            );
            assert!(!err.to_string().contains(SECRET), "{url}: {err}");
        }
        for url in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://app:@db/app",
            "mysql://root@127.0.0.1:3306/test",
            "mssql://sa@db:1433/app?encrypt=true",
            "sqlite:///var/lib/app/passwords.db",
            "sqlite::memory:",
        ] {
            SqlConfig::from_value(json!({"url": url, "password": "local:db-password"}))
                .unwrap_or_else(|e| panic!("{url}: {e}"));
        }
    }

    #[test]
    fn the_schema_refuses_what_validation_refuses() {
        let schema = spec();
        let validator = jsonschema::validator_for(&schema).unwrap();
        for url in password_urls()
            .into_iter()
            .filter(|u| !u.contains("%70assword"))
        {
            assert!(!validator.is_valid(&json!({"url": url})), "{url}");
        }
        for url in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@[::1]:5432/test?sslmode=verify-full&sslrootcert=/etc/ca.pem",
            "postgres:///app?host=/var/run/postgresql",
            "mysql://root@127.0.0.1:3306/test",
            "sqlite:///var/lib/app/a@b.db",
            "sqlite::memory:",
            "sqlite:relative.db",
            "mssql://sa@db:1433/app?encrypt=true",
        ] {
            assert!(validator.is_valid(&json!({"url": url})), "{url}");
        }
        let query =
            |q: &str| json!({"url": "sqlite::memory:", "streams": [{"name": "s", "query": q}]});
        for q in [
            "SELECT 1",
            "  -- why\n/* what */ (select * from t)",
            "WITH a AS (SELECT 1) SELECT * FROM a",
            "values (1)",
        ] {
            assert!(validator.is_valid(&query(q)), "{q}");
            SqlConfig::from_value(query(q)).unwrap_or_else(|e| panic!("{q}: {e}"));
        }
        for q in [
            "update users set role = 'admin'",
            "delete from t",
            "attach database 'x' as p",
            "pragma writable_schema = on",
            "selection",
        ] {
            assert!(!validator.is_valid(&query(q)), "{q}");
            assert!(SqlConfig::from_value(query(q)).is_err(), "{q}");
        }
    }

    #[test]
    fn query_streams_are_checked_at_validation() {
        let err = SqlConfig::from_value(json!({
            "url": "postgres://app@db/app",
            "streams": [
                {"name": "ok", "query": "SELECT 1"},
                {"name": "evil", "query": "WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d"}
            ]
        }))
        .unwrap_err();
        assert!(err.detail().contains("`/streams/1/query`"), "{err}");
        assert!(err.detail().contains("DELETE"), "{err}");
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cr%40t@db:5432/app?sslmode=require"),
            "postgres://app:***@db:5432/app?sslmode=require"
        );
        assert_eq!(
            redact_url("mysql://root@localhost/test"),
            "mysql://root@localhost/test"
        );
        assert_eq!(
            redact_url("mssql://h/db?user=sa&password=pw"),
            "mssql://h/db?user=sa&password=***"
        );
        assert!(!redact_url("postgres://u:pw@[bad").contains("pw"));
    }
}
