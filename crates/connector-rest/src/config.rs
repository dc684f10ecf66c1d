//! The configuration of a REST connection, as the user writes it (JSON or YAML).
//!
//! Every struct denies unknown fields, so a typo is an error naming the field instead of a
//! setting silently ignored. Secret fields hold secret *references* (`env:NAME`,
//! `file:/path`, `vault:mount/path#field`, `local:name`), never values. Parsing here is
//! structural only; [`crate::compile`] checks the meaning (URLs, paths, templates) and turns
//! the configuration into what the connector runs.

use std::collections::BTreeMap;

use connector_sdk::auth::{ApiKeyLocation, AuthConfig, ClientAuthMethod};
use connector_sdk::{ConnectorError, FieldType, Operation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The whole configuration of one REST connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestConfig {
    /// The connector type; `rest` when given.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub connector_type: Option<String>,
    /// The API root every stream path is appended to, e.g. `https://api.example.com/v1`.
    pub base_url: String,
    /// Allows an `http://` base URL (and token URL). Off by default: credentials would
    /// travel in clear text.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// A PEM file of extra CA certificates to trust (e.g. a company's private CA); the
    /// public roots stay trusted. Certificates are always verified.
    #[serde(default)]
    pub ca_cert: Option<String>,
    /// How requests authenticate (default: none).
    #[serde(default)]
    pub auth: RestAuth,
    /// Headers sent with every request (not for credentials: use `auth`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The streams (endpoints) this connection reads and writes.
    pub streams: Vec<StreamConfig>,
    /// The request `check` sends (default: the first stream's first page, limit 1).
    #[serde(default)]
    pub check: Option<CheckConfig>,
    /// Retries of each HTTP request (page fetch, record write).
    #[serde(default)]
    pub retry: RetryConfig,
    /// Deadline of one HTTP request, in seconds (default 30).
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// The largest response body read (each page), in bytes: default 64 MiB, at most
    /// 1 GiB. A larger answer fails the request instead of filling the server's memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_bytes: Option<u64>,
    /// Client-side rate limit (applied per operation and per read batch).
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
}

fn default_timeout_seconds() -> u64 {
    30
}

impl RestConfig {
    /// Parses a configuration from JSON (YAML parsed into a `serde_json::Value` works the
    /// same). A structural error is an [`connector_sdk::ErrorKind::Config`] error whose
    /// detail starts with the JSON Pointer of the offending field.
    pub fn from_value(value: Value) -> Result<Self, ConnectorError> {
        serde_path_to_error::deserialize(value).map_err(|err| {
            let pointer = pointer_of(err.path());
            let inner = err.into_inner();
            ConnectorError::config(Operation::Build, format!("`{pointer}`: {inner}"))
        })
    }
}

/// Turns a serde path (`streams[0].paginator`) into a JSON Pointer (`/streams/0/paginator`).
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        pointer.push('/');
        match segment {
            Segment::Seq { index } => pointer.push_str(&index.to_string()),
            Segment::Map { key } => pointer.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => pointer.push_str(variant),
            Segment::Unknown => pointer.push('?'),
        }
    }
    if pointer.is_empty() {
        pointer.push('/');
    }
    pointer
}

/// How requests authenticate. Mirrors the SDK's [`AuthConfig`] with the REST connector's
/// field names (`value` for an API key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RestAuth {
    /// No authentication.
    #[default]
    None,
    /// An API key in a header or a query parameter.
    ApiKey {
        /// The header or query parameter name, e.g. `X-Api-Key`.
        name: String,
        /// Header (default) or query parameter.
        #[serde(rename = "in", default = "default_api_key_location")]
        location: ApiKeyLocation,
        /// Reference to the key.
        value: String,
    },
    /// A static bearer token.
    Bearer {
        /// Reference to the token.
        token: String,
    },
    /// HTTP basic auth.
    Basic {
        /// The user name (not secret).
        username: String,
        /// Reference to the password.
        password: String,
    },
    /// OAuth 2.0 client credentials, token cached and refreshed before expiry.
    #[serde(rename = "oauth2_client_credentials")]
    OAuth2ClientCredentials {
        /// The token endpoint.
        token_url: String,
        /// The client id (not secret).
        client_id: String,
        /// Reference to the client secret.
        client_secret: String,
        /// Scopes to request.
        #[serde(default)]
        scopes: Vec<String>,
        /// An `audience` parameter, for providers that need one.
        #[serde(default)]
        audience: Option<String>,
        /// How the client authenticates at the token endpoint.
        #[serde(default)]
        client_auth: ClientAuthMethod,
        /// Refresh this many seconds before expiry (default 30).
        #[serde(default)]
        refresh_skew_seconds: Option<u64>,
    },
}

fn default_api_key_location() -> ApiKeyLocation {
    ApiKeyLocation::Header
}

impl RestAuth {
    /// The SDK setting that builds the provider.
    pub fn to_sdk(&self) -> AuthConfig {
        match self.clone() {
            Self::None => AuthConfig::None,
            Self::ApiKey {
                name,
                location,
                value,
            } => AuthConfig::ApiKey {
                location,
                name,
                key: value,
            },
            Self::Bearer { token } => AuthConfig::Bearer { token },
            Self::Basic { username, password } => AuthConfig::Basic { username, password },
            Self::OAuth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scopes,
                audience,
                client_auth,
                refresh_skew_seconds,
            } => AuthConfig::OAuth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scopes,
                audience,
                client_auth,
                refresh_skew_seconds,
            },
        }
    }
}

/// HTTP method of a read request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadMethod {
    /// `GET` (the default).
    #[default]
    GET,
    /// `POST`, for search endpoints taking a JSON body.
    POST,
}

/// HTTP method of a write request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteMethod {
    /// `POST` (the default).
    #[default]
    POST,
    /// `PUT`.
    PUT,
    /// `PATCH`.
    PATCH,
    /// `DELETE` (no body).
    DELETE,
}

/// How a response body is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// One JSON document; records located by `records`.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// CSV with a header row; every value a string.
    Csv,
}

/// One stream: an endpoint returning a list of records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// The stream name used in reads and writes.
    pub name: String,
    /// The path below `base_url`, starting with `/`.
    pub path: String,
    /// `GET` (default) or `POST`.
    #[serde(default)]
    pub method: ReadMethod,
    /// Static query parameters (scalars).
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// Extra headers for this stream.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body template; `{cursor}`, `{offset}`, `{limit}`, `{page}` and
    /// `{incremental}` are substituted where referenced. With a body, pagination and
    /// incremental values travel only in it.
    #[serde(default)]
    pub body: Option<Value>,
    /// Where the records are: a JSONPath (`$.data`) or a JSON Pointer (`/data`); default
    /// the whole body (an array, or one object = one record).
    #[serde(default)]
    pub records: Option<String>,
    /// The body format; default from the `Content-Type`, else JSON.
    #[serde(default)]
    pub format: Option<BodyFormat>,
    /// The fields forming the primary key.
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// The declared fields of the records and their types (default: typed from each page's
    /// values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaConfig>,
    /// How to get the next page (default: one page only).
    #[serde(default)]
    pub paginator: PaginatorConfig,
    /// When to stop paginating besides the paginator's own end.
    #[serde(default)]
    pub stop: StopConfig,
    /// Incremental reads by a cursor field.
    #[serde(default)]
    pub incremental: Option<IncrementalConfig>,
    /// How records are written to this stream.
    #[serde(default)]
    pub write: Option<WriteConfig>,
}

/// The declared shape of a stream's records: each page decodes into columns of these types.
///
/// A value that does not fit its declared type exactly (a string in an `integer` field, a
/// field some records lack) is not lost: that field's column on that page is typed from its
/// values instead, as without a schema (a JSON column at worst), and reads the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaConfig {
    /// The declared fields, in column order.
    pub fields: Vec<FieldConfig>,
    /// What happens to fields the schema does not declare (default `keep`).
    #[serde(default)]
    pub extra_fields: ExtraFields,
}

/// One declared field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    /// The field name in the record.
    pub name: String,
    /// The type, as the catalog writes it: `{"type": "integer"}`,
    /// `{"type": "decimal", "precision": 12, "scale": 2}`, `{"type": "timestamp_tz"}`, ...
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Whether the value may be null (default true).
    #[serde(default = "default_true")]
    pub nullable: bool,
}

/// What a read does with record fields the stream's schema does not declare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraFields {
    /// Keep them, typed from their values (as without a schema).
    #[default]
    Keep,
    /// Leave them out of the records.
    Drop,
    /// Fail the read with a data error naming the page, the record and the field.
    Reject,
}

/// How to get the next page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaginatorConfig {
    /// A single page.
    #[default]
    None,
    /// A cursor found in the body, sent back as a parameter.
    Cursor {
        /// Where the next cursor is (JSONPath or JSON Pointer); absent/null/"" = last page.
        cursor_path: String,
        /// The query parameter carrying it (not needed when the body references `{cursor}`).
        #[serde(default)]
        param: Option<String>,
    },
    /// Offset and limit parameters.
    Offset {
        /// The page size parameter (default `limit`).
        #[serde(default = "default_limit_param")]
        limit_param: String,
        /// The offset parameter (default `offset`).
        #[serde(default = "default_offset_param")]
        offset_param: String,
        /// Records per page; a shorter page is the last.
        limit: u64,
        /// The first offset (default 0).
        #[serde(default)]
        start: u64,
    },
    /// A page number parameter.
    PageNumber {
        /// The page parameter (default `page`).
        #[serde(default = "default_page_param")]
        param: String,
        /// The first page number (default 1).
        #[serde(default = "default_page_start")]
        start: u64,
        /// A page size parameter to send, if any.
        #[serde(default)]
        page_size_param: Option<String>,
        /// The page size; a shorter page is the last.
        #[serde(default)]
        page_size: Option<u64>,
    },
    /// The URL of the next page, found in the body.
    NextUrl {
        /// Where the URL is (JSONPath or JSON Pointer); absent/null/"" = last page.
        path: String,
    },
    /// The RFC 8288 `Link` header with `rel="next"`.
    LinkHeader {},
}

fn default_limit_param() -> String {
    "limit".into()
}
fn default_offset_param() -> String {
    "offset".into()
}
fn default_page_param() -> String {
    "page".into()
}
fn default_page_start() -> u64 {
    1
}
fn default_true() -> bool {
    true
}

/// Stop conditions and safety caps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopConfig {
    /// A boolean in the body; `false` = last page.
    #[serde(default)]
    pub has_more_path: Option<String>,
    /// The total number of records in the body; reached = last page.
    #[serde(default)]
    pub total_path: Option<String>,
    /// Read at most this many pages (a warning is logged when reached).
    #[serde(default)]
    pub max_pages: Option<u64>,
    /// Read at most this many records (a warning is logged when reached).
    #[serde(default)]
    pub max_records: Option<u64>,
    /// Fail with a clear error when a cursor, next URL or page content repeats (default on).
    #[serde(default = "default_true")]
    pub progress_guard: bool,
}

impl Default for StopConfig {
    fn default() -> Self {
        Self {
            has_more_path: None,
            total_path: None,
            max_pages: None,
            max_records: None,
            progress_guard: true,
        }
    }
}

/// Incremental reads by a cursor field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncrementalConfig {
    /// The record field whose maximum is the checkpoint (e.g. `updated_at`).
    pub cursor_field: String,
    /// The query parameter receiving the checkpoint on the next run (optional: records
    /// at or below the checkpoint are filtered out client-side either way).
    #[serde(default)]
    pub param: Option<String>,
    /// The value to send on the very first run.
    #[serde(default)]
    pub start: Option<Value>,
}

/// How records are written. `method`/`path` is the insert endpoint; `upsert`, `update` and
/// `delete` add the other write modes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteConfig {
    /// The insert method (default `POST`).
    #[serde(default)]
    pub method: WriteMethod,
    /// The insert path (default the stream path); `{field}` takes a record field.
    #[serde(default)]
    pub path: Option<String>,
    /// Send records in batches instead of one request per record.
    #[serde(default)]
    pub batch: Option<BatchConfig>,
    /// The upsert endpoint.
    #[serde(default)]
    pub upsert: Option<WriteEndpoint>,
    /// The update endpoint.
    #[serde(default)]
    pub update: Option<WriteEndpoint>,
    /// The delete endpoint.
    #[serde(default)]
    pub delete: Option<WriteEndpoint>,
}

/// The endpoint of one write mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteEndpoint {
    /// The method.
    pub method: WriteMethod,
    /// The path (default the stream path); `{field}` takes a record field.
    #[serde(default)]
    pub path: Option<String>,
    /// Send records in batches.
    #[serde(default)]
    pub batch: Option<BatchConfig>,
}

/// Batch writes: several records in one request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Records per request.
    pub size: usize,
    /// Wrap the array in an object under this key (`{"records": [...]}`); default a bare array.
    #[serde(default)]
    pub wrap: Option<String>,
    /// Where a response lists per-item errors (JSONPath or JSON Pointer); without it the
    /// whole batch shares the response's outcome.
    #[serde(default)]
    pub errors_path: Option<String>,
    /// The field of an item error holding the item's position in the batch (default `index`).
    #[serde(default = "default_index_field")]
    pub index_field: String,
    /// The field of an item error holding the message (default `message`).
    #[serde(default = "default_message_field")]
    pub message_field: String,
}

fn default_index_field() -> String {
    "index".into()
}
fn default_message_field() -> String {
    "message".into()
}

/// The request `check` sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// The path below `base_url`.
    pub path: String,
    /// Query parameters.
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
}

/// Retries of each HTTP request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Total attempts per request (default 5; 1 disables retries).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The first backoff ceiling in milliseconds (default 200), doubling per retry.
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// The largest backoff ceiling in milliseconds (default 30000).
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// Give up retrying a request after this many seconds (default 120).
    #[serde(default = "default_max_elapsed_seconds")]
    pub max_elapsed_seconds: u64,
}

fn default_max_attempts() -> u32 {
    5
}
fn default_initial_backoff_ms() -> u64 {
    200
}
fn default_max_backoff_ms() -> u64 {
    30_000
}
fn default_max_elapsed_seconds() -> u64 {
    120
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: default_max_attempts(),
            initial_backoff_ms: default_initial_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            max_elapsed_seconds: default_max_elapsed_seconds(),
        }
    }
}

/// A client-side rate limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Operations (read batches, writes) per second on average.
    pub per_second: f64,
    /// Bursts of up to this many (default 1).
    #[serde(default = "default_burst")]
    pub burst: u32,
}

fn default_burst() -> u32 {
    1
}
