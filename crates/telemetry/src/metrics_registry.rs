//! The process-wide Prometheus registry.
//!
//! Any crate records metrics through the `metrics` facade; this registry renders them in
//! the Prometheus text format. Durations are histograms with explicit buckets (the
//! OpenTelemetry HTTP semantic-convention boundaries), never summaries.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::TelemetryError;

/// Bucket boundaries (seconds) for request and operation durations, as recommended by the
/// OpenTelemetry HTTP semantic conventions.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Bucket boundaries (seconds) for waiting on a database connection.
pub const POOL_WAIT_BUCKETS: [f64; 10] =
    [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

/// Handle to the installed registry.
#[derive(Clone)]
pub struct MetricsRegistry {
    handle: PrometheusHandle,
    process: std::sync::Arc<metrics_process::Collector>,
}

static REGISTRY: OnceLock<MetricsRegistry> = OnceLock::new();

impl MetricsRegistry {
    /// Install the registry as the global `metrics` recorder (once per process; later calls
    /// return the same registry) and start its upkeep task on the current Tokio runtime.
    pub fn install() -> Result<MetricsRegistry, TelemetryError> {
        if let Some(registry) = REGISTRY.get() {
            return Ok(registry.clone());
        }
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("_duration_seconds".into()),
                &DURATION_BUCKETS,
            )
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Full("db_client_connection_wait_time_seconds".into()),
                    &POOL_WAIT_BUCKETS,
                )
            })
            .map_err(|error| TelemetryError::Exporter(error.to_string()))?
            .install_recorder()
            .map_err(|_| TelemetryError::AlreadyInitialised)?;
        let process = metrics_process::Collector::default();
        process.describe();
        describe_common_metrics();
        metrics::gauge!(
            "grimos_build_info",
            "version" => env!("CARGO_PKG_VERSION"),
            "rustc" => option_env!("GRIMOS_RUSTC_VERSION").unwrap_or("unknown"),
        )
        .set(1.0);
        let registry = MetricsRegistry {
            handle,
            process: std::sync::Arc::new(process),
        };
        let registry = REGISTRY.get_or_init(|| registry).clone();
        let upkeep = registry.handle.clone();
        // Without periodic upkeep, histogram buckets grow while nobody scrapes.
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(Duration::from_secs(5));
            loop {
                interval.tick().await;
                upkeep.run_upkeep();
            }
        });
        Ok(registry)
    }

    /// Render every metric in the Prometheus text exposition format, refreshing the
    /// process CPU and memory gauges first.
    pub fn render(&self) -> String {
        self.process.collect();
        self.handle.render()
    }
}

fn describe_common_metrics() {
    metrics::describe_histogram!(
        "http_server_request_duration_seconds",
        metrics::Unit::Seconds,
        "Duration of HTTP server requests, by method, route template and status code."
    );
    metrics::describe_gauge!(
        "http_server_active_requests",
        "HTTP server requests in flight."
    );
    metrics::describe_histogram!(
        "db_client_connection_wait_time_seconds",
        metrics::Unit::Seconds,
        "Time spent waiting for a database connection from the pool."
    );
    metrics::describe_gauge!(
        "db_client_connection_count",
        "Open database connections, by state (idle, used)."
    );
    metrics::describe_gauge!(
        "db_client_connection_max",
        "Most database connections the pool may open."
    );
    metrics::describe_gauge!(
        "grimos_build_info",
        "Always 1; labels carry the grimOS version and the compiler that built it."
    );
}
