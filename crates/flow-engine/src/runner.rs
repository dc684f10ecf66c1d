//! [`run`]: one flow run, from checkpoint to checkpoint.
//!
//! A producer task pulls batches from the source and maps them while the previous batch
//! is being written (a channel of one batch between them bounds memory to about three
//! batches: one read ahead in the connector, one mapped, one being written). The mapping
//! itself runs on Tokio's blocking pool, never on an async worker: a batch of expressions
//! is CPU work that would stall every other task on that worker. For each batch, in order:
//!
//! 1. the mapped records are written (with the batch checkpoint in the same transaction
//!    when the target commits checkpoints), retried on transient errors when safe;
//! 2. the batch's dead letters (mapping and target rejects) are stored;
//! 3. the checkpoint is committed to the journal (or mirrored there, for display, when the
//!    target holds it);
//! 4. progress is reported.
//!
//! When the target commits the checkpoint with its rows, step 2 cannot wait for the write
//! to return: a crash between the target's commit and the journal would lose the target's
//! rejects, and the next run would start past them. So the target hands the outcomes to a
//! [`CommitHook`] inside its transaction, before its commit, and the hook *stages* the
//! batch's dead letters in the journal ([`RunJournal::stage_dead_letters`]); once the write
//! returns they are settled into dead letters. A run that finds letters staged (a crash
//! came between) settles them first: kept when the target's checkpoint is the staged one
//! (the batch committed), dropped otherwise (it rolled back and is read again). Nothing is
//! journaled for a batch without rejects.
//!
//! Cancellation and the deadline are checked between batches, while waiting for the
//! source and while waiting to retry; a batch being written is finished first, so the
//! target and the checkpoint always agree on the last batch.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use connector_sdk::{
    Batch, Checkpoint, CommitHook, Connector, ConnectorError, ErrorKind, Operation, ReadBatch,
    ReadRequest, ReadStream, RecordOutcome, TargetCheckpoint, WriteMode,
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
    /// The source records, in order (kept for dead letters).
    source: Batch,
    /// The mapped records, for the source rows at `mapped_from`.
    mapped: Batch,
    /// For each mapped record, the row of its source record.
    mapped_from: Vec<usize>,
    /// The records the mapping refused.
    mapping_rejects: Vec<DeadLetter>,
    /// The checkpoint reached after the batch.
    checkpoint: Option<Checkpoint>,
}

/// Why the producer stopped early.
enum Produced {
    /// Reading the source failed.
    Source(ConnectorError),
    /// The mapping worker failed (a bug: the mapping never panics on any input).
    Mapping(String),
}

/// Maps a batch on the blocking pool (CPU work, run off the async workers): columns in,
/// columns out, the JSON view built only for the records the mapping refused.
async fn prepare(batch: ReadBatch, mapping: &Arc<CompiledMapping>) -> Result<Prepared, Produced> {
    let mapping = mapping.clone();
    let ReadBatch {
        batch: source,
        checkpoint,
        ..
    } = batch;
    tokio::task::spawn_blocking(move || {
        let mapped = mapping.apply_batch(&source);
        let mapping_rejects = mapped
            .rejects
            .iter()
            .map(|(row, errors)| DeadLetter {
                stage: DeadLetterStage::Mapping,
                source_record: Value::Object(source.record(*row)),
                mapped_record: None,
                reason: errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            })
            .collect();
        Prepared {
            source,
            mapped: mapped.batch,
            mapped_from: mapped.source_rows,
            mapping_rejects,
            checkpoint,
        }
    })
    .await
    .map_err(|error| Produced::Mapping(format!("the mapping worker stopped unexpectedly: {error}")))
}

/// Reads, maps and prepares batches, sending them one at a time.
async fn produce(
    mut batches: ReadStream,
    mapping: Arc<CompiledMapping>,
    sender: mpsc::Sender<Result<Prepared, Produced>>,
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
            Some(Err(error)) => Err(Produced::Source(error)),
            Some(Ok(batch)) => prepare(batch, &mapping).await,
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
}

impl Runner {
    fn new(request: RunRequest) -> Self {
        let deadline = request.timeout.map(|timeout| Instant::now() + timeout);
        let atomic = request.target.capabilities().write.checkpoint;
        Self {
            request,
            counts: RunCounts::default(),
            committed: None,
            batches: 0,
            deadline,
            atomic,
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
        // Before anything is written: a batch staged later would replace these letters.
        if let Err(error) = self.settle_interrupted(checkpoint.as_ref()).await {
            return Stop::Failed(error);
        }
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
                Some(Err(Produced::Source(error))) => {
                    break Stop::Failed(EngineError::connector(
                        &format!(
                            "reading source stream `{}` after {} records",
                            self.request.source_stream, self.counts.read
                        ),
                        &error,
                    ));
                }
                Some(Err(Produced::Mapping(message))) => {
                    break Stop::Failed(EngineError::new(EngineErrorKind::Mapping, message));
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
        let mapped_from = Arc::new(mapped_from);

        // A target that commits the checkpoint with its rows moves past the batch's dead
        // letters in its own transaction: they are staged from inside it, before its commit.
        // Otherwise they are stored after the write, before the journal's checkpoint moves.
        let (staging, mut dead_letters) = match (&checkpoint, self.atomic) {
            (Some(checkpoint), true) => (
                Some(Arc::new(StageRejects {
                    journal: request.journal.clone(),
                    checkpoint: checkpoint.clone(),
                    source: source.clone(),
                    mapped: mapped.clone(),
                    mapped_from: mapped_from.clone(),
                    mapping_rejects,
                    staged: AtomicBool::new(false),
                })),
                Vec::new(),
            ),
            _ => (None, mapping_rejects),
        };
        let target_checkpoint = staging.as_ref().map(|hook| {
            TargetCheckpoint::new(request.flow_key.clone(), hook.checkpoint.clone())
                .with_hook(hook.clone())
        });
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
        let written = write.run(mapped.clone()).await;
        drop(write);
        let report = match written {
            Ok(report) => report,
            Err(failure) => {
                if let Some(hook) = staging.as_deref().filter(|hook| hook.staged()) {
                    self.settle_after_failed_write(hook, batch).await;
                }
                return Err(match failure {
                    WriteFailure::Interrupted(interrupted) => {
                        Stop::interrupted(interrupted, request.timeout)
                    }
                    failure => Stop::Failed(EngineError::new(
                        EngineErrorKind::Connector,
                        format!("batch {batch}: {}", failure.message(&request.target_stream)),
                    )),
                });
            }
        };

        let written = report.ok_count() as u64;
        let target_rejected = report.rejected_count() as u64;
        let first_target_reason = report.outcomes.iter().find_map(|o| match o {
            RecordOutcome::Rejected { reason, .. } => Some(reason.clone()),
            RecordOutcome::Ok => None,
        });
        let read = source.len() as u64;
        match &staging {
            Some(hook) if hook.staged() => self.settle_committed(batch).await?,
            Some(_) => {}
            None => {
                dead_letters.extend(target_rejects(
                    &report.outcomes,
                    &source,
                    &mapped,
                    &mapped_from,
                ));
                self.store_dead_letters(dead_letters).await?;
            }
        }
        drop(staging);

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
        let count = letters.len();
        let journal = &self.request.journal;
        self.persist(|| journal.dead_letters(letters.clone()))
            .await
            .map_err(|(error, attempts)| {
                Stop::Failed(EngineError::storage(format!(
                    "could not store {count} dead letter(s) of batch {} after {attempts} \
                     attempt(s): {error}",
                    self.batches
                )))
            })
    }

    /// Turns the letters staged for batch `batch`, which the target committed, into dead
    /// letters. When the journal keeps failing, the run stops and they stay staged: the next
    /// run settles them before anything else.
    async fn settle_committed(&self, batch: u64) -> Result<(), Stop> {
        let journal = &self.request.journal;
        self.persist(|| journal.settle_staged(true))
            .await
            .map(|_| ())
            .map_err(|(error, attempts)| {
                Stop::Failed(EngineError::storage(format!(
                    "batch {batch} was committed by the target, but its dead letters could \
                     not be moved out of staging after {attempts} attempt(s); they stay \
                     staged and the next run of the flow stores them first: {error}"
                )))
            })
    }

    /// Calls `operation` until it succeeds or `max_attempts` calls failed (then the last
    /// error and the number of attempts). Not interrupted by cancellation: what it stores
    /// must not be dropped.
    async fn persist<T, F, Fut>(&self, mut operation: F) -> Result<T, (EngineError, u32)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, EngineError>>,
    {
        let attempts = self.request.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            match operation().await {
                Ok(value) => return Ok(value),
                Err(error) if attempt < attempts => {
                    tracing::warn!(error = %error, attempt, "the journal failed; retrying");
                    tokio::time::sleep(backoff(attempt, None)).await;
                    attempt += 1;
                }
                Err(error) => return Err((error, attempt)),
            }
        }
    }

    /// Settles the dead letters a crash (or a failed write) left staged, against `current`,
    /// the target's checkpoint: kept when it is theirs — the target committed their batch —
    /// and dropped otherwise — the batch rolled back and is read again. Without a target
    /// that commits checkpoints (the flow's target changed since) whether the batch
    /// committed is unknown: they are kept, since a reject stored twice beats a lost one.
    async fn settle_interrupted(&self, current: Option<&Checkpoint>) -> Result<(), EngineError> {
        let journal = &self.request.journal;
        let context = |error: EngineError| {
            EngineError::storage(format!(
                "settling the dead letters staged by an interrupted batch: {}",
                error.message()
            ))
            .with_retryable(error.retryable())
        };
        let Some(staged) = journal.staged_checkpoint().await.map_err(context)? else {
            return Ok(());
        };
        let committed = !self.atomic || current == Some(&staged);
        let stored = journal.settle_staged(committed).await.map_err(context)?;
        let fields = json!({
            "batch_committed": committed,
            "dead_letters_stored": stored,
            "checkpoint": staged.0,
        });
        tracing::warn!(%fields, "settled the dead letters of an interrupted batch");
        journal
            .event(
                EventLevel::Warn,
                "settled the dead letters of an interrupted batch",
                fields,
            )
            .await;
        Ok(())
    }

    /// After a failed write of batch `batch` whose letters were staged: settles them against
    /// the target's checkpoint now (the commit may have happened before the failure), or
    /// leaves them for the next run when that cannot be read.
    async fn settle_after_failed_write(&self, hook: &StageRejects, batch: u64) {
        let request = &self.request;
        let settled = match request.target.load_checkpoint(&request.flow_key).await {
            Ok(current) => self.settle_interrupted(current.as_ref()).await,
            Err(error) => Err(EngineError::connector(
                "loading the checkpoint from the target",
                &error,
            )),
        };
        if let Err(error) = settled {
            tracing::warn!(
                batch,
                checkpoint = %hook.checkpoint.0,
                error = %error,
                "the dead letters of a failed batch stay staged; the next run settles them"
            );
        }
    }
}

/// The dead letters of the records a target rejected: `outcomes` are those of the `mapped`
/// records, whose source records are at the rows `mapped_from` of `source`.
fn target_rejects(
    outcomes: &[RecordOutcome],
    source: &Batch,
    mapped: &Batch,
    mapped_from: &[usize],
) -> Vec<DeadLetter> {
    outcomes
        .iter()
        .enumerate()
        .filter_map(|(position, outcome)| match outcome {
            RecordOutcome::Rejected { reason, .. } => {
                let row = mapped_from.get(position).copied();
                Some(DeadLetter {
                    stage: DeadLetterStage::Target,
                    source_record: row.map_or(Value::Null, |row| Value::Object(source.record(row))),
                    mapped_record: (position < mapped.len())
                        .then(|| Value::Object(mapped.record(position))),
                    reason: reason.clone(),
                })
            }
            RecordOutcome::Ok => None,
        })
        .collect()
}

/// The [`CommitHook`] of a batch written with its checkpoint: stages the batch's dead
/// letters in the journal from inside the target's transaction, before its commit.
struct StageRejects {
    journal: Arc<dyn RunJournal>,
    /// The checkpoint the batch moves to.
    checkpoint: Checkpoint,
    source: Batch,
    mapped: Batch,
    mapped_from: Arc<Vec<usize>>,
    mapping_rejects: Vec<DeadLetter>,
    /// Whether an attempt staged letters (a later attempt then replaces them, even with
    /// none, and the run settles them).
    staged: AtomicBool,
}

impl StageRejects {
    fn staged(&self) -> bool {
        self.staged.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl CommitHook for StageRejects {
    async fn before_commit(&self, outcomes: &[RecordOutcome]) -> Result<(), ConnectorError> {
        if outcomes.len() != self.mapped_from.len() {
            return Err(ConnectorError::new(
                ErrorKind::Unsupported,
                Operation::Write,
                format!(
                    "the target reported {} outcomes for {} records (a connector bug); the \
                     batch is not committed",
                    outcomes.len(),
                    self.mapped_from.len()
                ),
            ));
        }
        let mut letters = self.mapping_rejects.clone();
        letters.extend(target_rejects(
            outcomes,
            &self.source,
            &self.mapped,
            &self.mapped_from,
        ));
        if letters.is_empty() && !self.staged() {
            return Ok(());
        }
        let count = letters.len();
        self.journal
            .stage_dead_letters(&self.checkpoint, letters)
            .await
            .map_err(|error| {
                // Transient: the batch rolls back, so writing it again is safe.
                ConnectorError::transient(
                    Operation::Write,
                    format!(
                        "the batch was rolled back: its {count} dead letter(s) could not be \
                         stored before the commit: {error}"
                    ),
                )
            })?;
        self.staged.store(true, Ordering::SeqCst);
        Ok(())
    }
}
