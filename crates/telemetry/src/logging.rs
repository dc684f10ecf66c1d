//! Structured logs.
//!
//! In JSON format every line is one object with `timestamp`, `level`, `message`, `target`,
//! the event's own fields, and — when the event happens inside a request or a traced
//! operation — `request_id`, `trace_id` and `span_id`.

use std::fmt;
use std::str::FromStr;

use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber, span};
use tracing_opentelemetry::OtelData;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line (the default; for machines).
    #[default]
    Json,
    /// Human-readable, coloured when stdout is a terminal.
    Pretty,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            other => Err(format!(
                "{other:?} is not a log format; expected json or pretty"
            )),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Json => "json",
            LogFormat::Pretty => "pretty",
        })
    }
}

/// Telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter directive does not parse.
    #[error("invalid log filter {filter:?}: {reason}")]
    InvalidFilter {
        /// The directive given.
        filter: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A global subscriber or recorder was already installed.
    #[error("telemetry was already initialised in this process")]
    AlreadyInitialised,
    /// The OTLP exporter could not be built.
    #[error("cannot set up the OTLP trace exporter: {0}")]
    Exporter(String),
}

pub(crate) fn install(
    format: LogFormat,
    filter: &str,
    tracer_provider: &opentelemetry_sdk::trace::SdkTracerProvider,
) -> Result<(), TelemetryError> {
    let env_filter = EnvFilter::try_new(filter).map_err(|error| TelemetryError::InvalidFilter {
        filter: filter.to_owned(),
        reason: error.to_string(),
    })?;
    // Spans are traced at INFO and above whatever the log level, so that a quiet log
    // (`warn`) still has trace ids in error responses and exported traces.
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(tracer_provider.tracer("grimos"))
        .with_filter(LevelFilter::INFO);
    let output = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .event_format(JsonLines)
            .with_writer(std::io::stdout)
            .with_filter(env_filter)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stdout)
            .with_filter(env_filter)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(otel_layer)
        .with(RequestIdLayer)
        .with(output)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInitialised)
}

/// The `request_id` a span was created with, kept in the span's extensions so that every
/// event beneath it can be stamped with it.
struct RequestId(String);

/// Stores a span's `request_id` field in its extensions.
struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut visitor = RequestIdVisitor(None);
        attrs.record(&mut visitor);
        if let (Some(request_id), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(RequestId(request_id));
        }
    }
}

struct RequestIdVisitor(Option<String>);

impl Visit for RequestIdVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "request_id" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "request_id" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// The JSON line format.
struct JsonLines;

/// Keys the format itself writes; event fields of the same name are prefixed with `field.`.
const RESERVED_KEYS: [&str; 8] = [
    "timestamp",
    "level",
    "message",
    "target",
    "request_id",
    "trace_id",
    "span_id",
    "span",
];

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        let mut fields = FieldCollector::default();
        event.record(&mut fields);

        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        line.insert("level".into(), Value::String(metadata.level().to_string()));
        line.insert(
            "message".into(),
            Value::String(fields.message.take().unwrap_or_default()),
        );
        line.insert("target".into(), Value::String(metadata.target().to_owned()));

        let mut request_id = None;
        let mut trace_ids = None;
        if let Some(scope) = ctx.event_scope() {
            for (depth, span) in scope.enumerate() {
                let extensions = span.extensions();
                if depth == 0 {
                    line.insert("span".into(), Value::String(span.name().to_owned()));
                }
                if request_id.is_none() {
                    request_id = extensions.get::<RequestId>().map(|id| id.0.clone());
                }
                if trace_ids.is_none() {
                    trace_ids = extensions.get::<OtelData>().and_then(otel_ids);
                }
                if request_id.is_some() && trace_ids.is_some() {
                    break;
                }
            }
        }
        if let Some(request_id) = request_id {
            line.insert("request_id".into(), Value::String(request_id));
        }
        if let Some((trace_id, span_id)) = trace_ids {
            line.insert("trace_id".into(), Value::String(trace_id));
            line.insert("span_id".into(), Value::String(span_id));
        }
        for (key, value) in fields.values {
            let key = if RESERVED_KEYS.contains(&key.as_str()) {
                format!("field.{key}")
            } else {
                key
            };
            line.insert(key, value);
        }
        let text = serde_json::to_string(&Value::Object(line)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// The trace and span id of a span, as lowercase hex, once its context is built.
fn otel_ids(data: &OtelData) -> Option<(String, String)> {
    let trace_id = data.trace_id()?;
    let span_id = data.span_id()?;
    (trace_id != opentelemetry::trace::TraceId::INVALID)
        .then(|| (trace_id.to_string(), span_id.to_string()))
}

/// The ids of the current OpenTelemetry context, for places that are not inside a
/// formatter (e.g. to put a trace id into an error response).
pub fn current_trace_id() -> Option<String> {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let context = tracing::Span::current().context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

#[derive(Default)]
struct FieldCollector {
    message: Option<String>,
    values: Vec<(String, Value)>,
}

impl FieldCollector {
    fn push(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(text) => text,
                other => other.to_string(),
            });
        } else {
            self.values.push((field.name().to_owned(), value));
        }
    }
}

impl Visit for FieldCollector {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::String(value.to_owned()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, Value::String(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Value::String(format!("{value:?}")));
    }
}
