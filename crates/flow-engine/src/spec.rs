//! The flow file model ([`FlowSpec`]) and its shape checks ([`FlowSpec::validate`]).
//!
//! ```yaml
//! name: customers-to-warehouse
//! source: { connector: crm.yaml, stream: customers }
//! target: { connector: warehouse.yaml, stream: customers, mode: upsert }
//! mapping:
//!   rules:
//!     - { target: id, source: id, cast: int }
//! schedule: "0 */15 * * * *"
//! timezone: Europe/Paris
//! options: { batch_size: 1000, max_attempts: 5 }
//! notify: { url: "https://n8n.example.com/webhook/flow-done", secret: "env:N8N_SECRET" }
//! ```

use connector_sdk::WriteMode;
use kernel::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The largest batch size accepted.
pub const MAX_BATCH_SIZE: usize = 100_000;

/// The largest number of attempts per batch accepted.
pub const MAX_ATTEMPTS: u32 = 100;

/// The notification statuses `notify.on` accepts.
pub const NOTIFY_STATUSES: [&str; 3] = ["succeeded", "failed", "cancelled"];

/// An integration flow: read a source stream, map each record, write a target stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// A name for people and logs.
    pub name: String,
    /// Where records come from.
    pub source: SourceSpec,
    /// Where records go.
    pub target: TargetSpec,
    /// The mapping, inline (exactly one of `mapping` and `mapping_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<mapping::MappingSpec>,
    /// The id of a stored mapping (API only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping_id: Option<String>,
    /// A cron expression with seconds (`"0 */15 * * * *"`): run on this schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The IANA time zone of the schedule (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Run options.
    #[serde(default)]
    pub options: RunOptions,
    /// A webhook called when a run ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifySpec>,
}

/// The source of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// The connector to read with.
    pub connector: ConnectorRef,
    /// The stream to read.
    pub stream: String,
    /// The incremental cursor field, when the connector lets the flow choose it (SQL:
    /// overrides the stream's `cursor_column`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_field: Option<String>,
}

/// The target of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// The connector to write with.
    pub connector: ConnectorRef,
    /// The stream (table, endpoint) to write.
    pub stream: String,
    /// How records are applied (default `insert`).
    #[serde(default = "default_mode")]
    pub mode: WriteMode,
}

fn default_mode() -> WriteMode {
    WriteMode::Insert
}

/// A connector: an inline configuration, or a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConnectorRef {
    /// A configuration object with its `"type"` (`rest`, `sql`).
    Inline(Map<String, Value>),
    /// A connector file path (CLI, relative to the flow file) or a stored connector id (API).
    Named(String),
}

/// How a run behaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunOptions {
    /// Records per batch asked of the source (default 1000).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Cancel a run that takes longer than this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_timeout_secs: Option<u64>,
    /// Whether a run may start while another run of the same flow is going (default false).
    #[serde(default)]
    pub allow_concurrent_runs: bool,
    /// Attempts per batch on transient write errors (default 5).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
}

fn default_batch_size() -> usize {
    1000
}

fn default_max_attempts() -> u32 {
    5
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            batch_size: default_batch_size(),
            run_timeout_secs: None,
            allow_concurrent_runs: false,
            max_attempts: default_max_attempts(),
        }
    }
}

/// A webhook called when a run ends (e.g. an n8n Webhook node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySpec {
    /// The URL to POST the run summary to.
    pub url: String,
    /// A secret *reference* (`env:`, `file:`, `vault:`, `local:`) whose value signs the body
    /// (`X-Grimos-Signature: sha256=<hex HMAC-SHA256>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The statuses to notify (`succeeded`, `failed`, `cancelled`); empty = all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on: Vec<String>,
}

impl NotifySpec {
    /// Whether a run ending with `status` (`succeeded`, ...) is notified.
    pub fn wants(&self, status: &str) -> bool {
        self.on.is_empty() || self.on.iter().any(|s| s == status)
    }
}

impl FlowSpec {
    /// Parses a flow from a JSON value (a YAML document read into one works too). A shape
    /// error names the offending key as a JSON Pointer.
    pub fn from_value(value: Value) -> Result<Self, FieldError> {
        serde_path_to_error::deserialize(value).map_err(|error| {
            let pointer = pointer_of(error.path());
            FieldError::new(pointer, error.into_inner().to_string())
        })
    }

    /// Shape checks (no I/O): name, streams, connector references, cron schedule, time
    /// zone, options, `mapping` xor `mapping_id`, notification. Each error has the JSON
    /// Pointer of its key.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(FieldError::new("/name", "must not be empty"));
        }
        check_connector(&self.source.connector, "/source/connector", &mut errors);
        check_connector(&self.target.connector, "/target/connector", &mut errors);
        if self.source.stream.trim().is_empty() {
            errors.push(FieldError::new("/source/stream", "must not be empty"));
        }
        if self.target.stream.trim().is_empty() {
            errors.push(FieldError::new("/target/stream", "must not be empty"));
        }
        if let Some(cursor) = &self.source.cursor_field
            && cursor.trim().is_empty()
        {
            errors.push(FieldError::new("/source/cursor_field", "must not be empty"));
        }
        match (&self.mapping, &self.mapping_id) {
            (Some(_), Some(_)) => errors.push(FieldError::new(
                "/mapping_id",
                "give either `mapping` or `mapping_id`, not both",
            )),
            (None, None) => errors.push(FieldError::new(
                "/mapping",
                "a flow needs a `mapping` (inline) or a `mapping_id`",
            )),
            (None, Some(id)) if id.trim().is_empty() => {
                errors.push(FieldError::new("/mapping_id", "must not be empty"));
            }
            _ => {}
        }
        if let Some(schedule) = &self.schedule
            && let Err(message) = check_schedule(schedule)
        {
            errors.push(FieldError::new("/schedule", message));
        }
        if let Some(timezone) = &self.timezone
            && timezone.parse::<chrono_tz::Tz>().is_err()
        {
            errors.push(FieldError::new(
                "/timezone",
                format!("`{timezone}` is not an IANA time zone (e.g. `Europe/Paris`, `UTC`)"),
            ));
        }
        let options = &self.options;
        if options.batch_size == 0 || options.batch_size > MAX_BATCH_SIZE {
            errors.push(FieldError::new(
                "/options/batch_size",
                format!("must be between 1 and {MAX_BATCH_SIZE}"),
            ));
        }
        if options.max_attempts == 0 || options.max_attempts > MAX_ATTEMPTS {
            errors.push(FieldError::new(
                "/options/max_attempts",
                format!("must be between 1 and {MAX_ATTEMPTS}"),
            ));
        }
        if options.run_timeout_secs == Some(0) {
            errors.push(FieldError::new(
                "/options/run_timeout_secs",
                "must be at least 1 (leave it out for no limit)",
            ));
        }
        if let Some(notify) = &self.notify {
            check_notify(notify, &mut errors);
        }
        errors
    }
}

/// Checks a cron expression with seconds (six fields, or seven with a year is refused).
pub fn check_schedule(schedule: &str) -> Result<(), String> {
    if schedule.split_whitespace().count() != 6 {
        return Err(format!(
            "`{schedule}` is not a cron expression with seconds: expected 6 fields \
             (second minute hour day-of-month month day-of-week), e.g. `0 */15 * * * *`"
        ));
    }
    croner::Cron::new(schedule)
        .with_seconds_required()
        .parse()
        .map(|_| ())
        .map_err(|error| format!("invalid cron expression `{schedule}`: {error}"))
}

fn check_connector(reference: &ConnectorRef, at: &str, errors: &mut Vec<FieldError>) {
    match reference {
        ConnectorRef::Inline(config) => match config.get("type") {
            Some(Value::String(kind)) if !kind.trim().is_empty() => {}
            _ => errors.push(FieldError::new(
                format!("{at}/type"),
                "an inline connector configuration needs its `type` (e.g. `rest`, `sql`)",
            )),
        },
        ConnectorRef::Named(name) if name.trim().is_empty() => {
            errors.push(FieldError::new(at, "must not be empty"));
        }
        ConnectorRef::Named(_) => {}
    }
}

fn check_notify(notify: &NotifySpec, errors: &mut Vec<FieldError>) {
    match reqwest::Url::parse(&notify.url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {}
        _ => errors.push(FieldError::new(
            "/notify/url",
            "must be an absolute http:// or https:// URL",
        )),
    }
    if let Some(secret) = &notify.secret
        && connector_sdk::secret::split_reference(secret).is_err()
    {
        errors.push(FieldError::new(
            "/notify/secret",
            "must be a secret reference (env:NAME, file:/path, vault:mount/path#field, local:name), not a secret",
        ));
    }
    for (index, status) in notify.on.iter().enumerate() {
        if !NOTIFY_STATUSES.contains(&status.as_str()) {
            errors.push(FieldError::new(
                format!("/notify/on/{index}"),
                format!("`{status}` is not one of succeeded, failed, cancelled"),
            ));
        }
    }
}

/// A serde path (`options.batch_size`) as a JSON Pointer (`/options/batch_size`).
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
        "/".into()
    } else {
        pointer
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use serde_json::json;

    fn flow(extra: Value) -> Value {
        let mut base = json!({
            "name": "f",
            "source": {"connector": "source.yaml", "stream": "customers"},
            "target": {"connector": {"type": "sql", "url": "postgres://x"}, "stream": "t"},
            "mapping": {"rules": [{"target": "id", "source": "id"}]}
        });
        for (key, value) in extra.as_object().unwrap() {
            if value.is_null() {
                base.as_object_mut().unwrap().remove(key);
            } else {
                base[key] = value.clone();
            }
        }
        base
    }

    fn paths(value: Value) -> Vec<String> {
        FlowSpec::from_value(value)
            .unwrap()
            .validate()
            .into_iter()
            .map(|e| e.path)
            .collect()
    }

    #[test]
    fn defaults_are_applied() {
        let spec = FlowSpec::from_value(flow(json!({}))).unwrap();
        assert_eq!(spec.options, RunOptions::default());
        assert_eq!(spec.options.batch_size, 1000);
        assert_eq!(spec.options.max_attempts, 5);
        assert_eq!(spec.target.mode, WriteMode::Insert);
        assert!(matches!(spec.source.connector, ConnectorRef::Named(_)));
        assert!(matches!(spec.target.connector, ConnectorRef::Inline(_)));
        assert!(spec.validate().is_empty(), "{:?}", spec.validate());
    }

    #[test]
    fn shape_errors_name_the_key() {
        let cases: Vec<(Value, &str)> = vec![
            (json!({"name": " "}), "/name"),
            (json!({"schedule": "*/15 * * * *"}), "/schedule"),
            (json!({"schedule": "0 61 * * * *"}), "/schedule"),
            (json!({"timezone": "Mars/Olympus"}), "/timezone"),
            (json!({"options": {"batch_size": 0}}), "/options/batch_size"),
            (
                json!({"options": {"batch_size": 100_001}}),
                "/options/batch_size",
            ),
            (
                json!({"options": {"max_attempts": 0}}),
                "/options/max_attempts",
            ),
            (
                json!({"options": {"run_timeout_secs": 0}}),
                "/options/run_timeout_secs",
            ),
            (json!({"mapping_id": "m1"}), "/mapping_id"),
            (json!({"mapping": null}), "/mapping"),
            (
                json!({"source": {"connector": {"url": "x"}, "stream": "s"}}),
                "/source/connector/type",
            ),
            (
                json!({"target": {"connector": "", "stream": "t"}}),
                "/target/connector",
            ),
            (
                json!({"target": {"connector": "t.yaml", "stream": ""}}),
                "/target/stream",
            ),
            (json!({"notify": {"url": "ftp://x"}}), "/notify/url"),
            (
                json!({"notify": {"url": "https://x", "secret": "hunter2"}}),
                "/notify/secret",
            ),
            (
                json!({"notify": {"url": "https://x", "on": ["failed", "done"]}}),
                "/notify/on/1",
            ),
        ];
        for (extra, expected) in cases {
            let found = paths(flow(extra.clone()));
            assert_eq!(found, vec![expected.to_owned()], "case {extra}");
        }
    }

    #[test]
    fn valid_schedules_and_zones_pass() {
        let found = paths(flow(json!({
            "schedule": "0 */15 * * * *", "timezone": "Europe/Paris",
            "mapping": null, "mapping_id": "m1",
            "notify": {"url": "https://n8n.example.com/webhook/x", "secret": "env:S", "on": ["failed"]}
        })));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn unknown_keys_are_refused_with_their_path() {
        let error = FlowSpec::from_value(flow(json!({"options": {"batch": 5}}))).unwrap_err();
        assert_eq!(error.path, "/options/batch");
        let error = FlowSpec::from_value(flow(
            json!({"target": {"connector": "t.yaml", "stream": "t", "mode": "merge"}}),
        ))
        .unwrap_err();
        assert_eq!(error.path, "/target/mode");
    }
}
