//! The work of `grimos connector ...`, as library functions writing to given handles.
//!
//! | command | function |
//! | --- | --- |
//! | `connector spec TYPE` | [`spec`]: the type's configuration JSON Schema |
//! | `connector check FILE` | [`check`]: `{"ok", "latency_ms", "error"}` |
//! | `connector discover FILE` | [`discover`]: the catalog |
//! | `connector read FILE [--stream S] [--state F] [--state-out F]` | [`read`]: JSON lines |
//! | `connector write FILE --stream S --mode M [--rejects F]` | [`write`]: JSON lines in |
//!
//! A connector file is JSON or YAML with a `type` (`{"type": "sql", ...}`); it is checked
//! against the type's spec before the connector is built. Every failure is a [`CliError`]
//! whose [`CliError::exit_code`] is 2 for a bad file or argument and 1 for a connector or
//! I/O failure. Nothing printed contains a secret value: configurations hold secret
//! references, and schema errors mask values.

mod config;
mod error;
mod json_lines;
mod state;

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use connector_sdk::{ErrorKind, ReadRequest, RecordOutcome, SecretSource, WriteMode, WriteRequest};
use futures::StreamExt;
use serde_json::{Value, json};

pub use config::{ConnectorFile, load, validate};
pub use error::CliError;
pub use json_lines::{Line, LineReader};

use crate::ConnectorRegistry;

/// Records per `write` call when writing standard input.
pub const WRITE_BATCH_SIZE: usize = 1_000;

/// What [`read`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Records printed.
    pub records: u64,
    /// Batches read.
    pub batches: u64,
}

/// What [`write`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Non-blank input lines.
    pub read: u64,
    /// Records the connector applied.
    pub written: u64,
    /// Lines that were no record, and records the connector refused.
    pub rejected: u64,
}

/// Parses a write mode: `insert`, `upsert`, `update` or `delete`.
pub fn parse_write_mode(mode: &str) -> Result<WriteMode, CliError> {
    WriteMode::ALL
        .into_iter()
        .find(|m| m.as_str() == mode)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "unknown write mode `{mode}`; use one of insert, upsert, update, delete"
            ))
        })
}

/// Prints the configuration JSON Schema of `connector_type`, pretty.
pub fn spec(
    registry: &ConnectorRegistry,
    connector_type: &str,
    stdout: &mut impl Write,
) -> Result<(), CliError> {
    let factory = registry.factory(connector_type).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown connector type `{connector_type}`; known types: {}",
            registry.type_names().join(", ")
        ))
    })?;
    print_json(stdout, &factory.spec(), true)
}

/// Validates and builds the connector of `config_path`, runs its health check and prints
/// `{"ok": bool, "latency_ms": n, "error": null | "..."}`. A failed check is printed, then
/// returned as [`CliError::Connector`].
pub async fn check(
    registry: &ConnectorRegistry,
    secrets: Arc<dyn SecretSource>,
    config_path: &Path,
    stdout: &mut impl Write,
) -> Result<(), CliError> {
    let connector = config::build(registry, secrets, config_path).await?;
    let report = connector.check().await;
    let latency_ms = u64::try_from(report.latency.as_millis()).unwrap_or(u64::MAX);
    let error = report.error.as_ref().map(ToString::to_string);
    print_json(
        stdout,
        &json!({"ok": report.is_ok(), "latency_ms": latency_ms, "error": error}),
        false,
    )?;
    match &report.error {
        None => Ok(()),
        Some(error) => Err(CliError::Connector(format!("check failed: {error}"))),
    }
}

/// Prints the catalog (streams, fields, keys, cursor candidates) of `config_path`.
pub async fn discover(
    registry: &ConnectorRegistry,
    secrets: Arc<dyn SecretSource>,
    config_path: &Path,
    stdout: &mut impl Write,
) -> Result<(), CliError> {
    let connector = config::build(registry, secrets, config_path).await?;
    let catalog = connector
        .discover()
        .await
        .map_err(|e| CliError::connector(&e))?;
    let value =
        serde_json::to_value(&catalog).map_err(|e| CliError::io("cannot encode the catalog", e))?;
    print_json(stdout, &value, true)
}

/// Reads `stream` (or the file's only stream) as JSON lines to `stdout`, one batch at a
/// time, flushed after each (memory stays bounded by one batch). Resumes from the
/// checkpoint in `state_in`; after each batch writes the checkpoint reached to `state_out`
/// atomically, so it never gets ahead of the records printed.
pub async fn read(
    registry: &ConnectorRegistry,
    secrets: Arc<dyn SecretSource>,
    config_path: &Path,
    stream: Option<&str>,
    state_in: Option<&Path>,
    state_out: Option<&Path>,
    stdout: &mut impl Write,
) -> Result<ReadSummary, CliError> {
    let file = config::load(registry, config_path)?;
    let stream = pick_stream(&file, config_path, stream)?;
    let checkpoint = match state_in {
        Some(path) => state::read(path)?,
        None => None,
    };
    let connector = config::connect(registry, secrets, config_path, &file).await?;
    let request = ReadRequest::full(stream.clone()).from_checkpoint(checkpoint);
    let mut batches = connector
        .read(request)
        .await
        .map_err(|e| CliError::connector(&e))?;
    let mut summary = ReadSummary::default();
    let failed = |e: std::io::Error| CliError::io("cannot write standard output", e);
    while let Some(batch) = batches.next().await {
        let batch = batch.map_err(|e| CliError::connector(&e))?;
        let records = batch.records();
        for record in &records {
            serde_json::to_writer(&mut *stdout, record)
                .map_err(|e| CliError::io("cannot write standard output", e))?;
            stdout.write_all(b"\n").map_err(failed)?;
        }
        stdout.flush().map_err(failed)?;
        summary.records += records.len() as u64;
        summary.batches += 1;
        if let (Some(path), Some(checkpoint)) = (state_out, &batch.checkpoint) {
            state::write_atomically(path, checkpoint)?;
        }
    }
    Ok(summary)
}

/// Writes JSON lines from `stdin` to `stream` in `mode`, [`WRITE_BATCH_SIZE`] records at a
/// time. A line that is no JSON object and a record the connector refuses are rejects:
/// each goes to `rejects_path` as `{"line", "record", "reason", "kind"}` (or, without it,
/// its line number and reason to `stderr`). Prints `read N, written N, rejected N, S
/// seconds, R records/s` to `stderr`, also when the write fails midway.
#[allow(clippy::too_many_arguments)]
pub async fn write(
    registry: &ConnectorRegistry,
    secrets: Arc<dyn SecretSource>,
    config_path: &Path,
    stream: &str,
    mode: WriteMode,
    stdin: impl BufRead,
    rejects_path: Option<&Path>,
    stderr: &mut impl Write,
) -> Result<WriteSummary, CliError> {
    let connector = config::build(registry, secrets, config_path).await?;
    let mut rejects = Rejects::open(rejects_path)?;
    let started = Instant::now();
    let mut summary = WriteSummary::default();
    let mut lines = LineReader::new(stdin);
    let result = async {
        loop {
            let batch = lines.next_batch(WRITE_BATCH_SIZE)?;
            if batch.is_empty() {
                return Ok(());
            }
            summary.read += batch.len() as u64;
            let mut records = Vec::with_capacity(batch.len());
            let mut numbers = Vec::with_capacity(batch.len());
            for line in batch {
                match line {
                    Line::Record { line, record } => {
                        numbers.push(line);
                        records.push(record);
                    }
                    Line::Invalid {
                        line,
                        value,
                        reason,
                    } => {
                        summary.rejected += 1;
                        rejects.add(stderr, line, &value, &reason, ErrorKind::Data)?;
                    }
                }
            }
            if records.is_empty() {
                continue;
            }
            let count = records.len();
            let report = connector
                .write(WriteRequest::new(stream, mode, records.as_slice()))
                .await
                .map_err(|e| CliError::connector(&e))?;
            if report.outcomes.len() != count {
                return Err(CliError::Connector(format!(
                    "the connector reported {} outcomes for {count} records",
                    report.outcomes.len()
                )));
            }
            for ((outcome, record), line) in report.outcomes.iter().zip(records).zip(numbers) {
                match outcome {
                    RecordOutcome::Ok => summary.written += 1,
                    RecordOutcome::Rejected { kind, reason } => {
                        summary.rejected += 1;
                        rejects.add(stderr, line, &Value::Object(record), reason, *kind)?;
                    }
                }
            }
        }
    }
    .await;
    rejects.finish()?;
    let seconds = started.elapsed().as_secs_f64();
    let rate = if seconds > 0.0 {
        summary.written as f64 / seconds
    } else {
        0.0
    };
    writeln!(
        stderr,
        "read {}, written {}, rejected {}, {seconds:.2} seconds, {rate:.0} records/s",
        summary.read, summary.written, summary.rejected
    )
    .map_err(|e| CliError::io("cannot write standard error", e))?;
    result.map(|()| summary)
}

/// The stream to read: the one asked for, or the file's only configured stream.
fn pick_stream(
    file: &ConnectorFile,
    config_path: &Path,
    stream: Option<&str>,
) -> Result<String, CliError> {
    if let Some(stream) = stream {
        return Ok(stream.to_owned());
    }
    match file.stream_names().as_slice() {
        [only] => Ok((*only).to_owned()),
        [] => Err(CliError::Usage(format!(
            "{} configures no stream; name one with --stream",
            config_path.display()
        ))),
        names => Err(CliError::Usage(format!(
            "{} configures several streams; choose one with --stream: {}",
            config_path.display(),
            names.join(", ")
        ))),
    }
}

/// Where rejects go: a JSON lines file, or a short line each on standard error.
struct Rejects {
    file: Option<(std::io::BufWriter<std::fs::File>, String)>,
}

impl Rejects {
    fn open(path: Option<&Path>) -> Result<Self, CliError> {
        let file = match path {
            Some(path) => {
                let file = std::fs::File::create(path).map_err(|e| {
                    CliError::io(format_args!("cannot create {}", path.display()), e)
                })?;
                Some((std::io::BufWriter::new(file), path.display().to_string()))
            }
            None => None,
        };
        Ok(Self { file })
    }

    fn add(
        &mut self,
        stderr: &mut impl Write,
        line: u64,
        record: &Value,
        reason: &str,
        kind: ErrorKind,
    ) -> Result<(), CliError> {
        match &mut self.file {
            Some((out, name)) => json_lines::write_reject(out, line, record, reason, kind)
                .map_err(|e| CliError::io(format_args!("cannot write {name}"), e)),
            None => writeln!(stderr, "line {line} rejected ({kind}): {reason}")
                .map_err(|e| CliError::io("cannot write standard error", e)),
        }
    }

    fn finish(&mut self) -> Result<(), CliError> {
        match &mut self.file {
            Some((out, name)) => out
                .flush()
                .map_err(|e| CliError::io(format_args!("cannot write {name}"), e)),
            None => Ok(()),
        }
    }
}

fn print_json(stdout: &mut impl Write, value: &Value, pretty: bool) -> Result<(), CliError> {
    let failed = |e: std::io::Error| CliError::io("cannot write standard output", e);
    let encoded = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .map_err(|e| CliError::io("cannot encode the output", e))?;
    stdout.write_all(encoded.as_bytes()).map_err(failed)?;
    stdout.write_all(b"\n").map_err(failed)?;
    stdout.flush().map_err(failed)
}
