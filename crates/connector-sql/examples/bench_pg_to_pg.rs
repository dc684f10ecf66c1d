//! PostgreSQL -> PostgreSQL benchmark: 1,000,000 rows of 11 columns (bigint, 8 text,
//! timestamptz, numeric(12,2)) through the connector's read -> write path (binary `COPY`
//! out, Arrow batches, binary `COPY` in), then through a raw
//! `psql COPY ... TO STDOUT (FORMAT binary) | psql COPY ... FROM STDIN (FORMAT binary)`
//! pipe on the same data, in the same run.
//!
//! ```sh
//! cargo run --release -p connector-sql --example bench_pg_to_pg
//! ```
//! Environment: `BENCH_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`),
//! `BENCH_ROWS` (default 1,000,000), `BENCH_BATCH` (default 5,000), `BENCH_CHECKPOINT=1`
//! (write each batch with a checkpoint, in one transaction, as
//! a flow does), `BENCH_WRITE_ONLY=1` (read every batch first, then time the writes alone).
//!
//! The connector's target table and the pipe's are both `LIKE src` (same columns, no
//! index). The figures: rows per second of each, their ratio, the client CPU per row
//! (user + system time of this process during the connector's run) and the peak memory.

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use connector_sdk::connector::TargetCheckpoint;
use connector_sdk::{
    Batch, Checkpoint, ConnectorFactory, EnvFileSecretSource, ReadRequest, WriteMode, WriteReport,
    WriteRequest,
};
use connector_sql::SqlConnectorFactory;
use futures::StreamExt;
use serde_json::json;
use sqlx::Executor;

/// The platform binary's allocator, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// CPU seconds (user + system) used so far by the processes whose `/proc/PID/stat` is
/// `stat` (clock ticks of 1/100 s).
fn cpu_secs<'a>(stats: impl Iterator<Item = &'a str>) -> f64 {
    stats
        .filter_map(|stat| {
            // Fields after the parenthesized command: state is the 3rd, utime the 14th.
            let rest = stat.get(stat.rfind(')')? + 2..)?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i - 3)?.parse::<f64>().ok();
            Some(ticks(14)? + ticks(15)?)
        })
        .sum::<f64>()
        / 100.0
}

/// CPU seconds used by this process so far.
fn own_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    cpu_secs(std::iter::once(stat.as_str()))
}

/// CPU seconds used by the PostgreSQL server processes alive now.
fn server_cpu_secs() -> f64 {
    let stats: Vec<String> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .collect();
    cpu_secs(stats.iter().map(String::as_str))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let rows: i64 = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let batch: usize = std::env::var("BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let flag = |name: &str| std::env::var(name).is_ok_and(|v| v == "1");
    let with_checkpoint = flag("BENCH_CHECKPOINT");
    let write_only = flag("BENCH_WRITE_ONLY");
    let parsed = url::Url::parse(&url)?;
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_owned();
    let port = parsed.port().unwrap_or(5432).to_string();
    let user = parsed.username().to_owned();
    let database = parsed.path().trim_start_matches('/').to_owned();

    let admin = sqlx::PgPool::connect(&url).await?;
    let schema = format!("grimos_bench_{}", std::process::id());
    admin
        .execute(format!("CREATE SCHEMA {schema}").as_str())
        .await?;
    let setup = Instant::now();
    admin
        .execute(
            format!(
                "CREATE TABLE {schema}.src (id bigint PRIMARY KEY, first_name text, last_name text, \
                 email text, city text, country text, status text, tag text, note text, \
                 created_at timestamptz, amount numeric(12,2)); \
                 INSERT INTO {schema}.src SELECT i, 'first ' || (i % 1000), 'last ' || md5(i::text), \
                 'user' || i || '@example.com', 'city ' || (i % 5000), 'country ' || (i % 200), \
                 (ARRAY['new', 'active', 'closed'])[1 + i % 3], 't' || (i % 10), \
                 substr(md5((i * 7)::text), 1, 1 + i % 32), \
                 timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second', (i * 1.25)::numeric(12,2) \
                 FROM generate_series(1, {rows}) AS i; \
                 CREATE TABLE {schema}.dst (LIKE {schema}.src); \
                 CREATE TABLE {schema}.dst_pipe (LIKE {schema}.src);"
            )
            .as_str(),
        )
        .await?;
    admin
        .execute(format!("VACUUM ANALYZE {schema}.src").as_str())
        .await?;
    println!(
        "source: {rows} rows generated server-side in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    // (a) The connector: read stream batches -> write (insert mode, COPY).
    let connector = SqlConnectorFactory
        .build(
            json!({"url": url, "batch_size": batch, "streams": [
                {"name": "src", "table": format!("{schema}.src")},
                {"name": "dst", "table": format!("{schema}.dst")}
            ]}),
            &connector_sdk::BuildContext::new(Arc::new(EnvFileSecretSource)),
        )
        .await?;
    let rss_before = peak_rss_mib();
    let write = |batch: Batch, checkpoint: Option<Checkpoint>| {
        let connector = connector.clone();
        let checkpoint = with_checkpoint
            .then(|| TargetCheckpoint::new("bench", checkpoint.unwrap_or(Checkpoint(json!({})))));
        async move {
            connector
                .write(
                    WriteRequest::new("dst", WriteMode::Insert, batch)
                        .with_checkpoint_option(checkpoint),
                )
                .await
        }
    };
    let mut written = 0usize;
    let mut rejected = 0usize;
    let mut count = |report: WriteReport| {
        written += report.ok_count();
        rejected += report.rejected_count();
    };
    let mut stream = connector
        .read(ReadRequest::full("src").with_batch_size(batch))
        .await?;
    let started;
    let cpu_before;
    if write_only {
        let mut batches = Vec::new();
        while let Some(next) = stream.next().await {
            let next = next?;
            batches.push((next.batch, next.checkpoint));
        }
        drop(stream);
        cpu_before = (own_cpu_secs(), server_cpu_secs());
        started = Instant::now();
        for (batch, checkpoint) in batches {
            count(write(batch, checkpoint).await?);
        }
    } else {
        cpu_before = (own_cpu_secs(), server_cpu_secs());
        started = Instant::now();
        while let Some(next) = stream.next().await {
            let next = next?;
            count(write(next.batch, next.checkpoint).await?);
        }
    }
    let connector_secs = started.elapsed().as_secs_f64();
    let client_cpu = own_cpu_secs() - cpu_before.0;
    let server_cpu = server_cpu_secs() - cpu_before.1;
    let connector_rate = written as f64 / connector_secs;
    let peak = peak_rss_mib();

    // (b) The raw COPY pipe on the same data.
    let psql = |sql: String| {
        format!("psql -X -q -h {host} -p {port} -U {user} -d {database} -c \"{sql}\"")
    };
    let pipe = format!(
        "{} | {}",
        psql(format!("COPY {schema}.src TO STDOUT (FORMAT binary)")),
        psql(format!("COPY {schema}.dst_pipe FROM STDIN (FORMAT binary)"))
    );
    let started = Instant::now();
    let status = Command::new("sh").arg("-c").arg(&pipe).arg("").status()?;
    let pipe_secs = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("the psql pipe failed: {status}").into());
    }
    let piped: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {schema}.dst_pipe"))
        .fetch_one(&admin)
        .await?;
    let pipe_rate = piped as f64 / pipe_secs;
    let copied: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {schema}.dst"))
        .fetch_one(&admin)
        .await?;
    let same: bool = sqlx::query_scalar(&format!(
        "SELECT NOT EXISTS (SELECT * FROM {schema}.src EXCEPT SELECT * FROM {schema}.dst)"
    ))
    .fetch_one(&admin)
    .await?;
    admin
        .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
        .await?;

    let what = match (write_only, with_checkpoint) {
        (false, false) => "connector read -> write:       ",
        (false, true) => "connector read -> write + ckpt:",
        (true, false) => "connector write only:          ",
        (true, true) => "connector write only + ckpt:   ",
    };
    println!(
        "{what} {written} rows ({rejected} rejected) in {connector_secs:.2} s = {connector_rate:.0} rows/s"
    );
    println!(
        "  CPU during it:                client {client_cpu:.2} s ({:.2} µs per row), PostgreSQL server {server_cpu:.2} s",
        client_cpu * 1e6 / (written.max(1) as f64)
    );
    println!(
        "psql COPY pipe:                 {piped} rows in {pipe_secs:.2} s = {pipe_rate:.0} rows/s"
    );
    println!(
        "ratio connector / pipe:         {:.0} %",
        100.0 * connector_rate / pipe_rate
    );
    println!("peak RSS (VmHWM):               {peak:.0} MiB (before the run {rss_before:.0} MiB)");
    println!("target table identical to source: {same} ({copied} rows)");
    Ok(())
}
