//! Read throughput and client CPU of the REST connector.
//!
//! Starts a local axum API in a separate process (this binary again, with `--serve`)
//! serving RECORDS records of about 260 bytes of JSON (a nested address object) in cursor
//! pages of PAGE_SIZE behind bearer auth — the pages rendered once at start-up, so the
//! server costs little — then reads them all through the connector built by the factory
//! (with its default layers) and prints, for each read mode, records/s, the client's CPU
//! time per record and its peak RSS. The modes: `inferred` (no declared schema: columns
//! typed by `Batch::from_records`) and `declared` (the stream declares its fields, so
//! pages decode into typed columns: integer, decimal, timestamp, JSON for the address).
//!
//! `cargo run --release -p connector-rest --example bench_rest_read [-- RECORDS PAGE_SIZE MODES]`
//! with MODES a comma-separated list (default `inferred,declared`).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use connector_rest::RestConnectorFactory;
use connector_sdk::{
    ConnectorError, ConnectorFactory, Operation, ReadRequest, Secret, SecretSource,
};
use futures::StreamExt;
use serde_json::{Value, json};

/// The grimos binary's allocator, so the figures are the ones a flow run sees.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOKEN: &str = "bench-token";

/// One record, about 260 bytes of JSON.
fn record(id: u64) -> Value {
    json!({
        "id": id,
        "name": format!("customer {id}"),
        "email": format!("customer{id}@example.com"),
        "active": !id.is_multiple_of(3),
        "score": (id % 1000) as f64 / 10.0 + 0.25,
        "balance": format!("{}.{:02}", id % 100_000, id % 100),
        "updated_at": format!("2024-{:02}-{:02}T{:02}:{:02}:{:02}Z", 1 + id % 12, 1 + id % 28, id % 24, id % 60, id % 59),
        "address": {"street": format!("{} Main Street", id % 10_000), "city": "Springfield",
                    "zip": format!("{:05}", id % 100_000), "country": "United States"}
    })
}

/// The pages, rendered once: `{"data": [...], "next_cursor": "<offset>" | null}`.
struct Pages {
    bodies: HashMap<u64, Bytes>,
}

async fn customers(
    State(pages): State<Arc<Pages>>,
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
    match pages.bodies.get(&offset) {
        Some(body) => ([(header::CONTENT_TYPE, "application/json")], body.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The server process: renders the pages, prints its port, serves until killed.
async fn serve(total: u64, page_size: u64) -> Result<(), Box<dyn std::error::Error>> {
    let mut bodies = HashMap::new();
    let mut bytes = 0usize;
    let mut offset = 0;
    while offset < total {
        let end = (offset + page_size).min(total);
        let data: Vec<Value> = (offset..end).map(record).collect();
        bytes += data.iter().map(|r| r.to_string().len()).sum::<usize>();
        let next = (end < total).then(|| end.to_string());
        let body = json!({"data": data, "next_cursor": next}).to_string();
        bodies.insert(offset, Bytes::from(body));
        offset = end;
    }
    let app = Router::new()
        .route("/v1/customers", get(customers))
        .with_state(Arc::new(Pages { bodies }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "{} {}",
        listener.local_addr()?.port(),
        bytes / usize::try_from(total.max(1))?
    )?;
    stdout.flush()?;
    axum::serve(listener, app).await?;
    Ok(())
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

/// User + system CPU seconds of this process so far (Linux, clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at field 3.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime is field 14 and stime field 15 of the whole line: 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn stream_config(page_size: u64, declared: bool) -> Value {
    let mut stream = json!({
        "name": "customers",
        "path": "/customers",
        "params": {"limit": page_size},
        "records": "$.data",
        "primary_key": ["id"],
        "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"}
    });
    if declared {
        stream["schema"] = json!({"fields": [
            {"name": "id", "type": {"type": "integer"}, "nullable": false},
            {"name": "name", "type": {"type": "string"}},
            {"name": "email", "type": {"type": "string"}},
            {"name": "active", "type": {"type": "boolean"}},
            {"name": "score", "type": {"type": "number"}},
            {"name": "balance", "type": {"type": "decimal", "precision": 12, "scale": 2}},
            {"name": "updated_at", "type": {"type": "timestamp_tz"}},
            {"name": "address", "type": {"type": "object", "fields": [
                {"name": "street", "type": {"type": "string"}, "nullable": false},
                {"name": "city", "type": {"type": "string"}, "nullable": false},
                {"name": "zip", "type": {"type": "string"}, "nullable": false},
                {"name": "country", "type": {"type": "string"}, "nullable": false}]}}
        ]});
    }
    stream
}

/// Reads the stream once; returns (records, batches, seconds, CPU seconds).
async fn read_once(
    base: &str,
    page_size: u64,
    declared: bool,
) -> Result<(u64, u64, f64, f64), Box<dyn std::error::Error>> {
    let config = json!({
        "type": "rest",
        "base_url": base,
        "allow_insecure_http": true,
        "auth": {"type": "bearer", "token": "local:bench-token"},
        "streams": [stream_config(page_size, declared)]
    });
    let connector = RestConnectorFactory
        .build(
            config,
            &connector_sdk::BuildContext::new(Arc::new(StaticSecret)),
        )
        .await?;
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let mut batches = connector
        .read(ReadRequest::full("customers").with_batch_size(usize::try_from(page_size)?))
        .await?;
    let (mut records, mut count) = (0u64, 0u64);
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        records += batch.batch.len() as u64;
        count += 1;
    }
    Ok((
        records,
        count,
        started.elapsed().as_secs_f64(),
        cpu_seconds() - cpu_before,
    ))
}

/// Kills the server process when the benchmark ends, however it ends.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        let total = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
        let page_size = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1_000);
        return serve(total, page_size).await;
    }
    let total: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let page_size: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let modes: Vec<String> = args
        .get(2)
        .map(|m| m.split(',').map(str::to_owned).collect())
        .unwrap_or_else(|| vec!["inferred".into(), "declared".into()]);

    let mut child = Command::new(std::env::current_exe()?)
        .args(["--serve", &total.to_string(), &page_size.to_string()])
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("the server has no stdout")?;
    let server = ServerProcess(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let port: u16 = words.next().ok_or("the server printed no port")?.parse()?;
    let record_bytes: u64 = words.next().unwrap_or("0").parse()?;
    let base = format!("http://127.0.0.1:{port}/v1");

    println!(
        "{total} records of {record_bytes} bytes of JSON on average (nested address), cursor pages of {page_size}, \
         bearer auth, server in process {}",
        server.0.id()
    );
    for mode in &modes {
        let declared = match mode.as_str() {
            "inferred" => false,
            "declared" => true,
            other => return Err(format!("unknown mode `{other}` (inferred, declared)").into()),
        };
        // A warm-up read, then the measured one.
        read_once(&base, page_size, declared).await?;
        let (records, batches, seconds, cpu) = read_once(&base, page_size, declared).await?;
        if records != total {
            return Err(format!("read {records} records, expected {total}").into());
        }
        println!(
            "{mode:>9}: {records} records in {batches} batches, {seconds:.3} s, {:.0} records/s, \
             client CPU {cpu:.2} s = {:.2} µs/record",
            records as f64 / seconds,
            cpu * 1e6 / records as f64
        );
    }
    println!(
        "client peak RSS: {:.1} MiB (VmHWM); cores: {}",
        proc_status_kb("VmHWM:").unwrap_or(0) as f64 / 1024.0,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    Ok(())
}
