//! `GET /metrics` in the Prometheus text format.

use axum::extract::State;
use axum::response::IntoResponse;
use http::header;
use storage::Database;
use telemetry::MetricsRegistry;

/// What the endpoint needs.
#[derive(Clone)]
pub struct MetricsState {
    pub registry: MetricsRegistry,
    pub db: Database,
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<MetricsState>) -> impl IntoResponse {
    let pool = state.db.pool_stats();
    let backend = state.db.backend().as_str();
    metrics::gauge!("db_client_connection_count", "db_system" => backend, "state" => "idle")
        .set(f64::from(pool.idle));
    metrics::gauge!("db_client_connection_count", "db_system" => backend, "state" => "used")
        .set(f64::from(pool.size.saturating_sub(pool.idle)));
    metrics::gauge!("db_client_connection_max", "db_system" => backend).set(f64::from(pool.max));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.registry.render(),
    )
}
