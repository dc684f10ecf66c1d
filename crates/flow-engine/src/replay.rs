//! [`replay`]: map dead-lettered source records again (with the current mapping) and write
//! them, reporting an outcome per record so the caller marks each one replayed or leaves
//! it pending with its new reason.

use std::sync::Arc;
use std::time::Duration;

use connector_sdk::{Batch, Connector, Record, RecordOutcome, WriteMode};
use mapping::CompiledMapping;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::journal::{DeadLetter, DeadLetterStage, MemoryJournal};
use crate::retry::{BatchWrite, WriteFailure};

/// One dead letter to replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayRecord {
    /// The caller's id of the dead letter (echoed in the result).
    pub id: String,
    /// The record as read from the source.
    pub source_record: Value,
}

/// What to replay, and where.
#[derive(Clone)]
pub struct ReplayRequest {
    /// The connector to write with.
    pub target: Arc<dyn Connector>,
    /// The stream to write.
    pub target_stream: String,
    /// How records are applied.
    pub mode: WriteMode,
    /// The current mapping of the flow.
    pub mapping: Arc<CompiledMapping>,
    /// The records to replay.
    pub records: Vec<ReplayRecord>,
    /// Records per write.
    pub batch_size: usize,
    /// Attempts per write on transient errors (retried only when safe: not for inserts).
    pub max_attempts: u32,
    /// Fire to stop between writes; the records not attempted stay pending.
    pub cancel: CancellationToken,
}

/// What happened to one replayed record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ReplayRecordOutcome {
    /// Mapped and written: mark the dead letter replayed.
    Written,
    /// Refused again: keep it pending with this new dead letter's stage and reason.
    Rejected {
        /// The new dead letter.
        dead_letter: DeadLetter,
    },
    /// Not written because the write failed as a whole or the replay was cancelled; keep it
    /// pending (`reason` says why; after a failed insert the target may hold the record).
    NotWritten {
        /// Why.
        reason: String,
    },
}

/// The result for one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayResult {
    /// The id given in the request.
    pub id: String,
    /// What happened.
    pub outcome: ReplayRecordOutcome,
}

/// The result of a replay: one [`ReplayResult`] per requested record, in request order.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOutcome {
    /// Per-record results.
    pub results: Vec<ReplayResult>,
    /// Records written.
    pub written: u64,
    /// Records refused again.
    pub rejected: u64,
    /// Records not attempted or whose write failed.
    pub not_written: u64,
    /// The error that stopped the replay early, if any.
    pub error: Option<String>,
    /// How long it took.
    pub duration: Duration,
}

/// Replays dead letters: maps each source record with the current mapping and writes the
/// mapped records in batches. Never panics.
pub async fn replay(request: ReplayRequest) -> ReplayOutcome {
    let started = Instant::now();
    let batch_size = request.batch_size.max(1);
    let journal = MemoryJournal::new();
    let mut results: Vec<ReplayResult> = Vec::with_capacity(request.records.len());
    let mut error: Option<String> = None;
    for chunk in request.records.chunks(batch_size) {
        if let Some(reason) = &error {
            results.extend(chunk.iter().map(|r| not_written(r, reason)));
            continue;
        }
        if request.cancel.is_cancelled() {
            error = Some("the replay was cancelled".into());
            results.extend(
                chunk
                    .iter()
                    .map(|r| not_written(r, "the replay was cancelled")),
            );
            continue;
        }
        let mut chunk_results: Vec<Option<ReplayOutcomeSlot>> = vec![None; chunk.len()];
        let mut sources: Vec<Record> = Vec::new();
        let mut mapped_records: Vec<Record> = Vec::new();
        let mut positions = Vec::new();
        for (position, record) in chunk.iter().enumerate() {
            let mapped = match &record.source_record {
                Value::Object(object) => request
                    .mapping
                    .apply(object)
                    .map(|mapped| (object.clone(), mapped)),
                _ => request
                    .mapping
                    .apply_value(&record.source_record)
                    .map(|_| (Record::new(), Record::new())),
            };
            match mapped {
                Ok((source, mapped)) => {
                    sources.push(source);
                    mapped_records.push(mapped);
                    positions.push(position);
                }
                Err(errors) => {
                    chunk_results[position] = Some(ReplayOutcomeSlot::Rejected(DeadLetter {
                        stage: DeadLetterStage::Mapping,
                        source_record: record.source_record.clone(),
                        mapped_record: None,
                        reason: errors
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; "),
                    }));
                }
            }
        }
        let write = BatchWrite {
            target: &request.target,
            stream: &request.target_stream,
            mode: request.mode,
            checkpoint: None,
            max_attempts: request.max_attempts,
            cancel: &request.cancel,
            deadline: None,
            journal: &journal,
            batch: 0,
        };
        match write.run(Batch::from_records(&mapped_records)).await {
            Ok(report) => {
                for (outcome, ((&position, source), mapped)) in report
                    .outcomes
                    .iter()
                    .zip(positions.iter().zip(&sources).zip(&mapped_records))
                {
                    chunk_results[position] = Some(match outcome {
                        RecordOutcome::Ok => ReplayOutcomeSlot::Written,
                        RecordOutcome::Rejected { reason, .. } => {
                            ReplayOutcomeSlot::Rejected(DeadLetter {
                                stage: DeadLetterStage::Target,
                                source_record: Value::Object(source.clone()),
                                mapped_record: Some(Value::Object(mapped.clone())),
                                reason: reason.clone(),
                            })
                        }
                    });
                }
            }
            Err(failure) => {
                let reason = match &failure {
                    WriteFailure::Failed { .. } | WriteFailure::WaitTooLong { .. }
                        if !request.mode.idempotent() =>
                    {
                        format!(
                            "{} (the target may hold part of this batch)",
                            failure.message(&request.target_stream)
                        )
                    }
                    _ => failure.message(&request.target_stream),
                };
                error = Some(reason);
            }
        }
        let reason = error.clone().unwrap_or_else(|| "not written".into());
        for (slot, record) in chunk_results.into_iter().zip(chunk) {
            results.push(ReplayResult {
                id: record.id.clone(),
                outcome: match slot {
                    Some(ReplayOutcomeSlot::Written) => ReplayRecordOutcome::Written,
                    Some(ReplayOutcomeSlot::Rejected(dead_letter)) => {
                        ReplayRecordOutcome::Rejected { dead_letter }
                    }
                    None => ReplayRecordOutcome::NotWritten {
                        reason: reason.clone(),
                    },
                },
            });
        }
    }
    let count = |f: fn(&ReplayRecordOutcome) -> bool| {
        results.iter().filter(|r| f(&r.outcome)).count() as u64
    };
    ReplayOutcome {
        written: count(|o| matches!(o, ReplayRecordOutcome::Written)),
        rejected: count(|o| matches!(o, ReplayRecordOutcome::Rejected { .. })),
        not_written: count(|o| matches!(o, ReplayRecordOutcome::NotWritten { .. })),
        results,
        error,
        duration: started.elapsed(),
    }
}

#[derive(Clone)]
enum ReplayOutcomeSlot {
    Written,
    Rejected(DeadLetter),
}

fn not_written(record: &ReplayRecord, reason: &str) -> ReplayResult {
    ReplayResult {
        id: record.id.clone(),
        outcome: ReplayRecordOutcome::NotWritten {
            reason: reason.to_owned(),
        },
    }
}
