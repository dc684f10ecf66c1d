//! Flow throughput: (1) REST -> six-rule mapping -> PostgreSQL, (2) PostgreSQL ->
//! six-rule mapping -> PostgreSQL compared in the same run with a `psql COPY | psql COPY`
//! pipe. Prints records/s and peak RSS (VmHWM) of each case, each measured in a child
//! process of its own so that one case's peak does not hide the other's.
//!
//! `cargo run --release -p flow-engine --example bench_flow [-- rest|pg [RECORDS]]`
//!
//! Diagnostics for the PostgreSQL case: `BENCH_BATCH=N` sets the batch size (default
//! 5000); `BENCH_READ_ONLY=1` only reads the source (add `BENCH_MAP=1` to map too).
//!
//! Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust) and `psql`. The REST API runs
//! in the same process as the engine (its memory is in the peak RSS; both share the cores).

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use connector_sdk::{ConnectorError, ConnectorFactory, Operation, Secret, SecretSource, WriteMode};
use flow_engine::{MemoryJournal, RunRequest, RunStatus, run};
use mapping::{Mapping, MappingSpec};
use serde_json::json;
use tokio_util::sync::CancellationToken;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Error = Box<dyn std::error::Error>;

const TOKEN: &str = "bench-token";
const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

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
                "id": id.to_string(),
                "first_name": format!("Ada{id}"),
                "last_name": "Lovelace",
                "email": format!("  Customer{id}@Example.COM "),
                "address": {"country": if id % 2 == 0 { "FR" } else { "" }},
                "score": format!("{}.5", id % 100),
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

/// A line of /proc/self/status in kB, e.g. `VmHWM`.
fn proc_status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn psql(sql: &str) -> Result<(), Error> {
    let status = Command::new("psql")
        .env("PGOPTIONS", "-c client_min_messages=warning")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("psql failed: {sql}").into())
    }
}

fn compile(rules: serde_json::Value) -> Result<Arc<mapping::CompiledMapping>, Error> {
    let spec =
        MappingSpec::from_json_value(json!({ "rules": rules })).map_err(|e| format!("{e:?}"))?;
    Ok(Arc::new(
        Mapping::compile(&spec).map_err(|e| format!("{e:?}"))?,
    ))
}

fn request(
    key: &str,
    source: Arc<dyn connector_sdk::Connector>,
    source_stream: &str,
    target: Arc<dyn connector_sdk::Connector>,
    target_stream: &str,
    mapping: Arc<mapping::CompiledMapping>,
    batch_size: usize,
) -> RunRequest {
    RunRequest {
        flow_key: key.to_owned(),
        source,
        source_stream: source_stream.to_owned(),
        target,
        target_stream: target_stream.to_owned(),
        mode: WriteMode::Insert,
        mapping,
        batch_size,
        max_attempts: 5,
        cancel: CancellationToken::new(),
        journal: Arc::new(MemoryJournal::new()),
        cursor_field: None,
        timeout: None,
    }
}

async fn bench_rest(total: u64) -> Result<(), Error> {
    let page_size = 1_000;
    let app = Router::new()
        .route("/v1/customers", get(customers))
        .with_state(Arc::new(Api { total, page_size }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/v1", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let source = connector_rest::RestConnectorFactory
        .build(
            json!({
                "type": "rest", "base_url": base, "allow_insecure_http": true,
                "auth": {"type": "bearer", "token": "local:bench-token"},
                "streams": [{"name": "customers", "path": "/customers", "params": {"limit": page_size},
                    "records": "$.data", "primary_key": ["id"],
                    "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"}}]
            }),
            &connector_sdk::BuildContext::new(Arc::new(StaticSecret)),
        )
        .await?;
    let target = connector_sql::SqlConnectorFactory
        .build(
            json!({"type": "sql", "url": PG_URL}),
            &connector_sdk::BuildContext::new(Arc::new(StaticSecret)),
        )
        .await?;
    psql(
        "DROP TABLE IF EXISTS bench_rest_customers; CREATE UNLOGGED TABLE bench_rest_customers \
         (id bigint PRIMARY KEY, email text NOT NULL, full_name text, country text, score double precision, \
         updated_at timestamptz)",
    )?;
    let mapping = compile(json!([
        {"target": "id", "source": "id", "cast": "int"},
        {"target": "email", "source": "email", "transform": ["trim", "lower"]},
        {"target": "full_name", "concat": {"sources": ["first_name", "last_name"], "separator": " "}},
        {"target": "country", "source": "address.country", "transform": ["trim"], "default": "US"},
        {"target": "score", "source": "score", "cast": "float"},
        {"target": "updated_at", "source": "updated_at", "cast": "timestamp"},
    ]))?;
    let key = format!("bench-rest-{}", std::process::id());
    let started = Instant::now();
    // On a runtime worker, as the server's run manager runs it.
    let outcome = tokio::spawn(run(request(
        &key,
        source,
        "customers",
        target,
        "bench_rest_customers",
        mapping,
        1_000,
    )))
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    if outcome.status != RunStatus::Succeeded || outcome.counts.written != total {
        return Err(format!(
            "run ended {:?}: {:?} {:?}",
            outcome.status, outcome.counts, outcome.error
        )
        .into());
    }
    println!(
        "REST -> 6 rules -> PostgreSQL (insert, COPY), {total} records, pages of {page_size}, bearer auth"
    );
    println!(
        "  flow:       {seconds:.2} s, {:.0} records/s (target >= 100000)",
        total as f64 / seconds
    );
    println!(
        "  peak RSS:   {:.1} MiB (VmHWM, API server in the same process; target < 300)",
        proc_status_kb("VmHWM:") as f64 / 1024.0
    );
    psql("DROP TABLE bench_rest_customers")?;
    Ok(())
}

async fn bench_pg(total: u64) -> Result<(), Error> {
    psql(&format!(
        "DROP TABLE IF EXISTS bench_src, bench_dst, bench_copy; \
         CREATE TABLE bench_src (id int PRIMARY KEY, name text, amount numeric(12,2), created_at timestamptz, payload jsonb); \
         INSERT INTO bench_src SELECT g, 'name ' || g, (g % 100000) / 100.0, \
           timestamptz '2024-01-01' + g * interval '1 second', jsonb_build_object('k', g, 'tags', jsonb_build_array('a', 'b')) \
           FROM generate_series(1, {total}) g; \
         CREATE UNLOGGED TABLE bench_dst (id int PRIMARY KEY, name text, amount numeric(12,2), created_at timestamptz, \
           payload jsonb, source text DEFAULT 'pg'); \
         CREATE UNLOGGED TABLE bench_copy (LIKE bench_dst INCLUDING ALL)"
    ))?;
    psql("VACUUM ANALYZE bench_src")?;
    psql("CHECKPOINT")?;
    // The baseline: a COPY pipe between two psql processes, into a table identical to the
    // flow's target (same primary key; `source` filled by its default).
    let started = Instant::now();
    let status = Command::new("sh")
        .args([
            "-c",
            "psql -h 127.0.0.1 -U postgres -d postgres -c 'COPY bench_src TO STDOUT' | \
             psql -h 127.0.0.1 -U postgres -d postgres -q -c 'COPY bench_copy (id, name, amount, created_at, payload) FROM STDIN'",
        ])
        .status()?;
    let copy_seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err("the COPY pipe failed".into());
    }
    let config = json!({"type": "sql", "url": PG_URL, "batch_size": 100_000,
        "streams": [{"name": "src", "table": "bench_src", "cursor_column": "id"}]});
    let source = connector_sql::SqlConnectorFactory
        .build(
            config.clone(),
            &connector_sdk::BuildContext::new(Arc::new(StaticSecret)),
        )
        .await?;
    let target = connector_sql::SqlConnectorFactory
        .build(
            config,
            &connector_sdk::BuildContext::new(Arc::new(StaticSecret)),
        )
        .await?;
    let mapping = compile(json!([
        {"target": "id", "source": "id"},
        {"target": "name", "source": "name", "transform": ["upper"]},
        {"target": "amount", "source": "amount"},
        {"target": "created_at", "source": "created_at"},
        {"target": "payload", "source": "payload"},
        {"target": "source", "constant": "pg"},
    ]))?;
    if std::env::var_os("BENCH_READ_ONLY").is_some() {
        use futures::StreamExt as _;
        let started = Instant::now();
        let mut batches = source
            .read(connector_sdk::ReadRequest::full("src").with_batch_size(10_000))
            .await?;
        let (mut rows, mut mapped) = (0usize, 0usize);
        let map = std::env::var_os("BENCH_MAP").is_some();
        while let Some(batch) = batches.next().await {
            let batch = batch?;
            rows += batch.batch.len();
            if map {
                mapped += mapping.apply_batch(&batch.batch).batch.len();
            }
        }
        println!(
            "  read only:  {:.2} s for {rows} rows ({mapped} mapped), peak {:.1} MiB",
            started.elapsed().as_secs_f64(),
            proc_status_kb("VmHWM:") as f64 / 1024.0
        );
        return Ok(());
    }
    let key = format!("bench-pg-{}", std::process::id());
    let batch_size: usize = std::env::var("BENCH_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(5_000);
    let started = Instant::now();
    // On a runtime worker, as the server's run manager runs it.
    let outcome = tokio::spawn(run(request(
        &key,
        source,
        "src",
        target,
        "bench_dst",
        mapping,
        batch_size,
    )))
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    if outcome.status != RunStatus::Succeeded || outcome.counts.written != total {
        return Err(format!(
            "run ended {:?}: {:?} {:?}",
            outcome.status, outcome.counts, outcome.error
        )
        .into());
    }
    let flow_rate = total as f64 / seconds;
    let copy_rate = total as f64 / copy_seconds;
    println!(
        "PostgreSQL -> 6 rules -> PostgreSQL (insert, checkpoint in the target), {total} rows (int, text, numeric, timestamptz, jsonb), batches of {batch_size}"
    );
    println!(
        "  COPY pipe:  {copy_seconds:.2} s, {copy_rate:.0} rows/s (psql COPY TO STDOUT | psql COPY FROM STDIN)"
    );
    println!(
        "  flow:       {seconds:.2} s, {flow_rate:.0} rows/s = {:.0}% of the COPY pipe (target >= 50%)",
        100.0 * flow_rate / copy_rate
    );
    println!(
        "  peak RSS:   {:.1} MiB (VmHWM; target < 300)",
        proc_status_kb("VmHWM:") as f64 / 1024.0
    );
    psql(&format!(
        "DROP TABLE bench_src, bench_dst, bench_copy; DELETE FROM grimos_checkpoints WHERE checkpoint_key = '{key}'"
    ))?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let case = args.next();
    let records: Option<u64> = args.next().and_then(|a| a.parse().ok());
    match case.as_deref() {
        Some("rest") => bench_rest(records.unwrap_or(200_000)).await,
        Some("pg") => bench_pg(records.unwrap_or(1_000_000)).await,
        _ => {
            println!(
                "cores: {}",
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            );
            let exe = std::env::current_exe()?;
            for case in ["rest", "pg"] {
                let status = Command::new(&exe).arg(case).status()?;
                if !status.success() {
                    return Err(format!("the {case} case failed").into());
                }
            }
            Ok(())
        }
    }
}
