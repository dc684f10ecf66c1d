//! Telemetry for every grimOS service.
//!
//! - [`logging`]: structured JSON logs on stdout (or a pretty format for humans), each line
//!   carrying the `request_id`, `trace_id` and `span_id` of the work it belongs to.
//! - [`tracing_export`]: an OpenTelemetry tracer whose spans are exported over OTLP when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and W3C `traceparent` propagation.
//! - [`metrics_registry`]: the process-wide Prometheus registry behind `GET /metrics`.
//! - [`http_middleware`]: the axum middleware that gives each request its span, request id,
//!   metrics and trace context.
//! - [`propagation`]: injecting the current trace context into outgoing HTTP calls.
//!
//! Metric and span names follow the OpenTelemetry semantic conventions.

pub mod http_middleware;
pub mod logging;
pub mod metrics_registry;
pub mod propagation;
pub mod tracing_export;

pub use logging::{LogFormat, TelemetryError};
pub use metrics_registry::MetricsRegistry;

/// Everything `init` set up that must be flushed at exit.
#[must_use = "dropping the guard early stops trace export"]
pub struct TelemetryGuard {
    tracer_provider: opentelemetry_sdk::trace::SdkTracerProvider,
}

impl TelemetryGuard {
    /// Flush pending spans and stop exporting.
    pub fn shutdown(self) {
        if let Err(error) = self.tracer_provider.shutdown() {
            tracing::warn!(error = %error, "trace exporter did not shut down cleanly");
        }
    }
}

/// Install logging and tracing for the process. Call once, at start-up.
pub fn init(
    service_name: &'static str,
    format: LogFormat,
    filter: &str,
) -> Result<TelemetryGuard, TelemetryError> {
    let tracer_provider = tracing_export::tracer_provider(service_name)?;
    logging::install(format, filter, &tracer_provider)?;
    Ok(TelemetryGuard { tracer_provider })
}
