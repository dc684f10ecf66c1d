//! Read throughput of the REST connector.
//!
//! Starts a local axum API serving 200,000 records in cursor pages of 1,000 behind bearer
//! auth (pages generated on request), reads them all through the connector built by the
//! factory (so with its default layers), and prints records/s, total seconds and peak RSS.
//!
//! `cargo run --release -p connector-rest --example bench_rest_read [-- RECORDS PAGE_SIZE]`
//!
//! The server runs in the same process: the peak RSS includes it, and both share the
//! machine's cores.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use connector_rest::RestConnectorFactory;
use connector_sdk::{
    ConnectorError, ConnectorFactory, Operation, ReadRequest, Secret, SecretSource,
};
use futures::StreamExt;
use serde_json::json;

const TOKEN: &str = "bench-token";

struct Api {
    total: u64,
    page_size: u64,
}

/// One page: `{"data": [...], "next_cursor": "<offset>" | null}`.
async fn customers(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"));
    if !authorized {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let offset: u64 = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let end = (offset + api.page_size).min(api.total);
    let data: Vec<serde_json::Value> = (offset..end)
        .map(|id| {
            json!({
                "id": id,
                "name": format!("customer {id}"),
                "email": format!("customer{id}@example.com"),
                "active": id % 3 != 0,
                "score": (id % 1000) as f64 / 10.0,
                "updated_at": format!("2024-{:02}-{:02}T{:02}:{:02}:00Z", 1 + id % 12, 1 + id % 28, id % 24, id % 60),
            })
        })
        .collect();
    let next = (end < api.total).then(|| end.to_string());
    let body = json!({"data": data, "next_cursor": next});
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

struct StaticSecret;

#[async_trait]
impl SecretSource for StaticSecret {
    async fn resolve(&self, reference: &str) -> Result<Secret, ConnectorError> {
        match reference {
            "local:bench-token" => Ok(Secret::new(TOKEN)),
            other => Err(ConnectorError::config(
                Operation::ResolveSecret,
                format!("unknown {other}"),
            )),
        }
    }
}

/// A line of /proc/self/status in kB (Linux), e.g. `VmHWM`.
fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let total: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let page_size: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000);

    let app = Router::new()
        .route("/v1/customers", get(customers))
        .with_state(Arc::new(Api { total, page_size }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/v1", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let config = json!({
        "type": "rest",
        "base_url": base,
        "allow_insecure_http": true,
        "auth": {"type": "bearer", "token": "local:bench-token"},
        "streams": [{
            "name": "customers",
            "path": "/customers",
            "params": {"limit": page_size},
            "records": "$.data",
            "primary_key": ["id"],
            "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"}
        }]
    });
    let connector = RestConnectorFactory
        .build(
            config,
            &connector_sdk::BuildContext::new(Arc::new(StaticSecret)),
        )
        .await?;
    let rss_before = proc_status_kb("VmRSS:").unwrap_or(0);

    let started = Instant::now();
    let mut batches = connector
        .read(ReadRequest::full("customers").with_batch_size(page_size as usize))
        .await?;
    let (mut records, mut pages) = (0u64, 0u64);
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        records += batch.batch.len() as u64;
        pages += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    if records != total {
        return Err(format!("read {records} records, expected {total}").into());
    }
    let peak_kb = proc_status_kb("VmHWM:").unwrap_or(0);
    println!(
        "records:      {records} in {pages} batches (pages of {page_size}, cursor pagination, bearer auth)"
    );
    println!("total:        {seconds:.3} s");
    println!("throughput:   {:.0} records/s", records as f64 / seconds);
    println!(
        "RSS before:   {:.1} MiB (server and client in one process)",
        rss_before as f64 / 1024.0
    );
    println!("peak RSS:     {:.1} MiB (VmHWM)", peak_kb as f64 / 1024.0);
    println!(
        "cores:        {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    Ok(())
}
