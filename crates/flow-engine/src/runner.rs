//! [`run`]: one flow run, from checkpoint to checkpoint.
//!
//! A producer task pulls batches from the source and maps them while the previous batch
//! is being written (a channel of one batch between them bounds memory to about three
//! batches: one read ahead in the connector, one mapped, one being written). For each
//! batch, in order:
//!
//! 1. mapping rejects are stored as dead letters;
//! 2. the mapped records are written (with the batch checkpoint in the same transaction
//!    when the target commits checkpoints), retried on transient errors when safe;
//! 3. target rejects are stored as dead letters;
//! 4. the checkpoint is committed to the journal (or mirrored there, for display, when the
//!    target holds it);
//! 5. progress is reported.
//!
//! Cancellation and the deadline are checked between batches, while waiting for the
//! source and while waiting to retry; a batch being written is finished first, so the
//! target and the checkpoint always agree on the last batch.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use connector_sdk::connector::TargetCheckpoint;
use connector_sdk::{
    Checkpoint, Connector, ConnectorError, PreparedWrite, ReadRequest, Record, RecordBatch,
    RecordBatchStream, RecordOutcome, WriteMode,
};
use futures::{FutureExt as _, StreamExt as _};
use mapping::CompiledMapping;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::error::{EngineError, EngineErrorKind};
use crate::journal::{DeadLetter, DeadLetterStage, EventLevel, RunCounts, RunJournal};
use crate::retry::{BatchWrite, Interrupted, WriteFailure, backoff, sleep_until};

/// Everything one run needs. The caller builds the connectors and compiles the mapping.
#[derive(Clone)]
pub struct RunRequest {
    /// The flow id: names the run in logs and is the target-side checkpoint key.
    pub flow_key: String,
    /// The connector to read with.
    pub source: Arc<dyn Connector>,
    /// The stream to read.
    pub source_stream: String,
    /// The connector to write with.
    pub target: Arc<dyn Connector>,
    /// The stream to write.
    pub target_stream: String,
    /// How records are applied.
    pub mode: WriteMode,
    /// The compiled mapping applied to every record.
    pub mapping: Arc<CompiledMapping>,
    /// Records per batch asked of the source.
    pub batch_size: usize,
    /// Attempts per batch on transient write errors (at least 1).
    pub max_attempts: u32,
    /// Fire to stop the run between batches (status `Cancelled`).
    pub cancel: CancellationToken,
    /// Where the run records its log, progress, dead letters and checkpoint.
    pub journal: Arc<dyn RunJournal>,
    /// The incremental cursor field asked of the source, if the flow chooses it.
    pub cursor_field: Option<String>,
    /// Stop the run after this long (status `Failed`, error kind timeout), like a
    /// cancellation: between batches, the target and checkpoint consistent.
    pub timeout: Option<Duration>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every record read was written or dead-lettered.
    Succeeded,
    /// The run stopped on an error (or its deadline); see [`RunOutcome::error`].
    Failed,
    /// The run was cancelled.
    Cancelled,
}

impl RunStatus {
    /// A stable snake_case name (`succeeded`, `failed`, `cancelled`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// How it ended.
    pub status: RunStatus,
    /// Records read, written and rejected (`read == written + rejected`).
    pub counts: RunCounts,
    /// Why it failed or stopped (a clear one-line message, no secret values).
    pub error: Option<String>,
    /// The kind of that error.
    pub error_kind: Option<EngineErrorKind>,
    /// How long it took.
    pub duration: Duration,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// The checkpoint of the last batch committed (None when none was).
    pub checkpoint: Option<Checkpoint>,
    /// Batches processed.
    pub batches: u64,
}

/// Runs a flow: never panics; every error becomes a `Failed` outcome with a message.
pub async fn run(request: RunRequest) -> RunOutcome {
    let started_at = Utc::now();
    let started = Instant::now();
    let span = tracing::info_span!(
        "flow_run",
        flow_key = %request.flow_key,
        source_stream = %request.source_stream,
        target_stream = %request.target_stream,
    );
    let journal = request.journal.clone();
    let mut runner = Runner::new(request);
    let result = AssertUnwindSafe(runner.execute())
        .catch_unwind()
        .instrument(span.clone())
        .await;
    let stop = match result {
        Ok(stop) => stop,
        Err(_) => Stop::Failed(EngineError::new(
            EngineErrorKind::Connector,
            "internal error: the run panicked (a bug); target and checkpoint hold the last committed batch",
        )),
    };
    let duration = started.elapsed();
    let (status, error) = match stop {
        Stop::Done => (RunStatus::Succeeded, None),
        Stop::Cancelled => (
            RunStatus::Cancelled,
            Some(EngineError::new(
                EngineErrorKind::Cancelled,
                "the run was cancelled",
            )),
        ),
        Stop::Failed(error) => (RunStatus::Failed, Some(error)),
    };
    let outcome = RunOutcome {
        status,
        counts: runner.counts,
        error: error.as_ref().map(|e| e.message().to_owned()),
        error_kind: error.as_ref().map(EngineError::kind),
        duration,
        started_at,
        finished_at: Utc::now(),
        checkpoint: runner.committed.clone(),
        batches: runner.batches,
    };
    crate::metrics::run_finished(status.as_str(), duration);
    let level = match status {
        RunStatus::Succeeded => EventLevel::Info,
        RunStatus::Cancelled => EventLevel::Warn,
        RunStatus::Failed => EventLevel::Error,
    };
    let fields = json!({
        "status": status.as_str(),
        "records_read": outcome.counts.read,
        "records_written": outcome.counts.written,
        "records_rejected": outcome.counts.rejected,
        "batches": outcome.batches,
        "duration_ms": duration.as_millis() as u64,
        "error": outcome.error,
    });
    span.in_scope(|| match status {
        RunStatus::Succeeded => tracing::info!(%fields, "flow run succeeded"),
        RunStatus::Cancelled => tracing::warn!(%fields, "flow run cancelled"),
        RunStatus::Failed => tracing::error!(%fields, "flow run failed"),
    });
    journal
        .event(level, &format!("run {}", status.as_str()), fields)
        .await;
    outcome
}

/// Why the loop ended.
enum Stop {
    Done,
    Cancelled,
    Failed(EngineError),
}

impl Stop {
    fn interrupted(interrupted: Interrupted, timeout: Option<Duration>) -> Self {
        match interrupted {
            Interrupted::Cancelled => Self::Cancelled,
            Interrupted::TimedOut => Self::Failed(EngineError::new(
                EngineErrorKind::Timeout,
                format!(
                    "the run exceeded its time limit of {} s and was stopped between batches \
                     (target and checkpoint hold the last committed batch)",
                    timeout.map_or(0, |t| t.as_secs())
                ),
            )),
        }
    }
}

/// A batch read and mapped, ready to write.
struct Prepared {
    /// The source records, in order (kept for dead letters and retries).
    source: Vec<Record>,
    /// The mapped records, for the source records at `mapped_from`, as the target
    /// prepared them for writing (or the error preparing them).
    mapped: Result<PreparedWrite, ConnectorError>,
    /// For each mapped record, the index of its source record.
    mapped_from: Vec<usize>,
    /// The records the mapping refused.
    mapping_rejects: Vec<DeadLetter>,
    /// The checkpoint reached after the batch.
    checkpoint: Option<Checkpoint>,
}

/// Maps every record of a batch and has the target prepare the mapped records for writing.
async fn prepare(batch: RecordBatch, mapping: &CompiledMapping, target: &WriteTarget) -> Prepared {
    let source = batch.records;
    let mut mapped = Vec::with_capacity(source.len());
    let mut mapped_from = Vec::with_capacity(source.len());
    let mut mapping_rejects = Vec::new();
    for (index, record) in source.iter().enumerate() {
        match mapping.apply(record) {
            Ok(output) => {
                mapped.push(output);
                mapped_from.push(index);
            }
            Err(errors) => mapping_rejects.push(DeadLetter {
                stage: DeadLetterStage::Mapping,
                source_record: Value::Object(record.clone()),
                mapped_record: None,
                reason: errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            }),
        }
    }
    let mapped = target
        .connector
        .prepare_write(&target.stream, target.mode, mapped)
        .await;
    Prepared {
        source,
        mapped,
        mapped_from,
        mapping_rejects,
        checkpoint: batch.checkpoint,
    }
}

/// Where the mapped records go: the target prepares each batch for writing (validates and
/// encodes it) as soon as it is mapped, while the batch before is being written.
struct WriteTarget {
    connector: Arc<dyn Connector>,
    stream: String,
    mode: WriteMode,
}

/// Maps the source records at `indexes` again (the mapping is deterministic).
fn remap(
    mapping: &CompiledMapping,
    source: &[Record],
    indexes: &[usize],
) -> Result<Vec<Record>, String> {
    indexes
        .iter()
        .map(|&index| {
            source
                .get(index)
                .and_then(|record| mapping.apply(record).ok())
                .ok_or_else(|| {
                    "a record that mapped before failed to map for a retry; the batch is not \
                     acknowledged"
                        .to_owned()
                })
        })
        .collect()
}

/// Reads, maps and prepares batches, sending them one at a time.
async fn produce(
    mut batches: RecordBatchStream,
    mapping: Arc<CompiledMapping>,
    target: WriteTarget,
    sender: mpsc::Sender<Result<Prepared, ConnectorError>>,
    stop: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            next = batches.next() => next,
        };
        let message = match next {
            None => return,
            Some(Err(error)) => Err(error),
            Some(Ok(batch)) => Ok(prepare(batch, &mapping, &target).await),
        };
        let failed = message.is_err();
        if sender.send(message).await.is_err() || failed {
            return;
        }
    }
}

struct Runner {
    request: RunRequest,
    counts: RunCounts,
    committed: Option<Checkpoint>,
    batches: u64,
    deadline: Option<Instant>,
    atomic: bool,
    /// The source records of the last batch written, freed during the next write.
    spent: Option<Vec<Record>>,
}

impl Runner {
    fn new(request: RunRequest) -> Self {
        let deadline = request.timeout.map(|timeout| Instant::now() + timeout);
        let atomic = request.target.commits_checkpoints();
        Self {
            request,
            counts: RunCounts::default(),
            committed: None,
            batches: 0,
            deadline,
            atomic,
            spent: None,
        }
    }

    async fn execute(&mut self) -> Stop {
        let request = &self.request;
        let checkpoint = match self.load_checkpoint().await {
            Ok(checkpoint) => checkpoint,
            Err(error) => return Stop::Failed(error),
        };
        self.committed = checkpoint.clone();
        let request_fields = json!({
            "flow": request.flow_key,
            "source_type": request.source.connector_type(),
            "source_stream": request.source_stream,
            "target_type": request.target.connector_type(),
            "target_stream": request.target_stream,
            "mode": request.mode.as_str(),
            "batch_size": request.batch_size,
            "checkpoint_in_target": self.atomic,
            "resume_from": checkpoint.as_ref().map(|c| c.0.clone()),
        });
        tracing::info!(fields = %request_fields, "flow run started");
        request
            .journal
            .event(EventLevel::Info, "run started", request_fields)
            .await;
        let mut read = ReadRequest::full(request.source_stream.clone())
            .from_checkpoint(checkpoint)
            .with_batch_size(request.batch_size);
        read.cursor_field = request.cursor_field.clone();
        let opened = tokio::select! {
            biased;
            () = request.cancel.cancelled() => return Stop::Cancelled,
            () = sleep_until(self.deadline) => return Stop::interrupted(Interrupted::TimedOut, request.timeout),
            opened = request.source.read(read) => opened,
        };
        let batches = match opened {
            Ok(batches) => batches,
            Err(error) => {
                return Stop::Failed(EngineError::connector(
                    &format!("opening source stream `{}`", request.source_stream),
                    &error,
                ));
            }
        };
        let (sender, mut receiver) = mpsc::channel(1);
        let producer_stop = CancellationToken::new();
        let producer = tokio::spawn(
            produce(
                batches,
                request.mapping.clone(),
                WriteTarget {
                    connector: request.target.clone(),
                    stream: request.target_stream.clone(),
                    mode: request.mode,
                },
                sender,
                producer_stop.clone(),
            )
            .in_current_span(),
        );
        let stop = loop {
            let message = tokio::select! {
                biased;
                () = self.request.cancel.cancelled() => break Stop::Cancelled,
                () = sleep_until(self.deadline) => break Stop::interrupted(Interrupted::TimedOut, self.request.timeout),
                message = receiver.recv() => message,
            };
            match message {
                None => break Stop::Done,
                Some(Err(error)) => {
                    break Stop::Failed(EngineError::connector(
                        &format!(
                            "reading source stream `{}` after {} records",
                            self.request.source_stream, self.counts.read
                        ),
                        &error,
                    ));
                }
                Some(Ok(prepared)) => {
                    self.batches += 1;
                    let span = tracing::info_span!(
                        "flow_batch",
                        batch = self.batches,
                        records = prepared.source.len()
                    );
                    if let Err(stop) = self.process(prepared).instrument(span).await {
                        break stop;
                    }
                }
            }
        };
        producer_stop.cancel();
        drop(receiver);
        producer.abort();
        stop
    }

    async fn load_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError> {
        let request = &self.request;
        if self.atomic {
            request
                .target
                .load_checkpoint(&request.flow_key)
                .await
                .map_err(|error| {
                    EngineError::connector("loading the checkpoint from the target", &error)
                })
        } else {
            request.journal.load_checkpoint().await
        }
    }

    /// Writes one batch and moves the checkpoint past it.
    async fn process(&mut self, prepared: Prepared) -> Result<(), Stop> {
        let Prepared {
            source,
            mapped,
            mapped_from,
            mapping_rejects,
            checkpoint,
        } = prepared;
        let request = &self.request;
        let batch = self.batches;
        let mapping_rejected = mapping_rejects.len() as u64;
        let first_mapping_reason = mapping_rejects.first().map(|d| d.reason.clone());
        // A target that commits checkpoints moves past the mapping rejects with the write:
        // store them first. Otherwise store them with the target rejects, after the write.
        let mut dead_letters = if self.atomic {
            self.store_dead_letters(mapping_rejects).await?;
            Vec::new()
        } else {
            mapping_rejects
        };

        let target_checkpoint = match (&checkpoint, self.atomic) {
            (Some(checkpoint), true) => Some(TargetCheckpoint {
                key: request.flow_key.clone(),
                checkpoint: checkpoint.clone(),
            }),
            _ => None,
        };
        let write = BatchWrite {
            target: &request.target,
            stream: &request.target_stream,
            mode: request.mode,
            checkpoint: target_checkpoint,
            max_attempts: request.max_attempts,
            cancel: &request.cancel,
            deadline: self.deadline,
            journal: request.journal.as_ref(),
            batch,
        };
        let mapping = request.mapping.clone();
        let mapped = match mapped {
            Ok(mapped) => mapped,
            // Preparing failed: the write of the records as they are reports the error (and
            // retries it when it is transient).
            Err(error) => {
                tracing::debug!(error = %error, "the target could not prepare the batch");
                match remap(&mapping, &source, &mapped_from) {
                    Ok(records) => PreparedWrite::plain(records),
                    Err(reason) => {
                        return Err(Stop::Failed(EngineError::new(
                            EngineErrorKind::Connector,
                            format!("batch {batch}: {reason}"),
                        )));
                    }
                }
            }
        };
        // The previous batch's source records are freed while this batch's write waits on
        // the target (freeing a batch of records costs as much CPU as a fifth of mapping it).
        let spent = self.spent.take();
        let (written, ()) = futures::join!(
            write.run(mapped, || remap(&mapping, &source, &mapped_from)),
            async move { drop(spent) }
        );
        let report = match written {
            Ok(report) => report,
            Err(WriteFailure::Interrupted(interrupted)) => {
                return Err(Stop::interrupted(interrupted, request.timeout));
            }
            Err(failure) => {
                return Err(Stop::Failed(EngineError::new(
                    EngineErrorKind::Connector,
                    format!("batch {batch}: {}", failure.message(&request.target_stream)),
                )));
            }
        };

        for (position, outcome) in report.outcomes.iter().enumerate() {
            if let RecordOutcome::Rejected { reason, .. } = outcome {
                let record = mapped_from.get(position).and_then(|&i| source.get(i));
                dead_letters.push(DeadLetter {
                    stage: DeadLetterStage::Target,
                    source_record: record.cloned().map_or(Value::Null, Value::Object),
                    mapped_record: record
                        .and_then(|r| mapping.apply(r).ok())
                        .map(Value::Object),
                    reason: reason.clone(),
                });
            }
        }
        let written = report.ok_count() as u64;
        let target_rejected = report.rejected_count() as u64;
        let first_target_reason = report.outcomes.iter().find_map(|o| match o {
            RecordOutcome::Rejected { reason, .. } => Some(reason.clone()),
            RecordOutcome::Ok => None,
        });
        let read = source.len() as u64;
        self.spent = Some(source);
        self.store_dead_letters(dead_letters).await?;

        self.counts.read += read;
        self.counts.written += written;
        self.counts.rejected += mapping_rejected + target_rejected;
        crate::metrics::batch_done(read, written, mapping_rejected, target_rejected);

        if let Some(checkpoint) = checkpoint {
            match request.journal.commit_checkpoint(&checkpoint).await {
                Ok(()) => {}
                Err(error) if self.atomic => {
                    tracing::warn!(error = %error, "could not mirror the checkpoint to the journal");
                }
                Err(error) => {
                    return Err(Stop::Failed(EngineError::storage(format!(
                        "batch {batch} was written but its checkpoint could not be committed \
                         (the next run re-reads it): {error}"
                    ))));
                }
            }
            self.committed = Some(checkpoint);
        }
        if mapping_rejected + target_rejected > 0 {
            let fields = json!({
                "batch": batch,
                "mapping_rejected": mapping_rejected,
                "target_rejected": target_rejected,
                "first_mapping_reason": first_mapping_reason,
                "first_target_reason": first_target_reason,
            });
            tracing::warn!(%fields, "records dead-lettered");
            request
                .journal
                .event(EventLevel::Warn, "records dead-lettered", fields)
                .await;
        }
        if let Err(error) = request.journal.progress(self.counts).await {
            tracing::warn!(error = %error, "could not record run progress");
        }
        tracing::debug!(batch, read, written, "batch done");
        Ok(())
    }

    /// Stores dead letters, retrying a failing journal: they must be durable before the
    /// checkpoint moves past them.
    async fn store_dead_letters(&self, letters: Vec<DeadLetter>) -> Result<(), Stop> {
        if letters.is_empty() {
            return Ok(());
        }
        let request = &self.request;
        let count = letters.len();
        let attempts = request.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            match request.journal.dead_letters(letters.clone()).await {
                Ok(()) => return Ok(()),
                Err(error) if attempt < attempts => {
                    tracing::warn!(error = %error, attempt, "could not store dead letters; retrying");
                    // Not interrupted by cancellation: these records must not be dropped.
                    tokio::time::sleep(backoff(attempt, None)).await;
                    attempt += 1;
                }
                Err(error) => {
                    return Err(Stop::Failed(EngineError::storage(format!(
                        "could not store {count} dead letter(s) of batch {} after {attempt} \
                         attempt(s): {error}",
                        self.batches
                    ))));
                }
            }
        }
    }
}
