//! Liveness and readiness.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use storage::Database;

/// The state of one readiness check.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Check {
    /// `ok` or `failed`.
    pub status: &'static str,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The readiness report.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// The database answers.
    pub database: Check,
    /// The schema is exactly what this binary expects.
    pub migrations: Check,
}

/// The process is alive.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Liveness {
    /// Always `ok`.
    pub status: &'static str,
}

/// Liveness: the process answers HTTP.
#[utoipa::path(get, path = "/livez", tag = "health",
    responses((status = 200, body = Liveness)))]
pub async fn livez() -> axum::Json<Liveness> {
    axum::Json(Liveness { status: "ok" })
}

/// Readiness: the database is reachable and its migrations are current (503 with the
/// reasons otherwise).
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(db): State<Database>) -> impl IntoResponse {
    let database = match tokio::time::timeout(Duration::from_secs(2), db.ping()).await {
        Ok(Ok(())) => Check {
            status: "ok",
            reason: None,
        },
        Ok(Err(error)) => Check {
            status: "failed",
            reason: Some(error.message().to_owned()),
        },
        Err(_) => Check {
            status: "failed",
            reason: Some("the database did not answer within 2 s".to_owned()),
        },
    };
    let migrations = if database.status == "ok" {
        match db.migration_status().await {
            Ok(status) if status.is_current() => Check {
                status: "ok",
                reason: None,
            },
            Ok(status) => Check {
                status: "failed",
                reason: Some(describe_migrations(&status)),
            },
            Err(error) => Check {
                status: "failed",
                reason: Some(error.message().to_owned()),
            },
        }
    } else {
        Check {
            status: "failed",
            reason: Some("not checked: the database is unreachable".to_owned()),
        }
    };
    let ready = database.status == "ok" && migrations.status == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(Readiness {
            status: if ready { "ready" } else { "not_ready" },
            database,
            migrations,
        }),
    )
}

fn describe_migrations(status: &storage::MigrationStatus) -> String {
    let mut reasons = Vec::new();
    if !status.pending.is_empty() {
        reasons.push(format!(
            "pending migrations: {} (run `grimos migrate`)",
            status.pending.join(", ")
        ));
    }
    if !status.failed.is_empty() {
        reasons.push(format!("failed migrations: {:?}", status.failed));
    }
    if !status.unknown.is_empty() {
        reasons.push(format!(
            "the database has migrations this binary does not know: {:?} (a newer grimOS ran against it)",
            status.unknown
        ));
    }
    reasons.join("; ")
}
