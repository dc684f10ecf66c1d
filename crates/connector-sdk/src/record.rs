//! Records, batches, checkpoints and per-record write results.

use std::fmt;

use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::batch::Batch;
use crate::error::{ConnectorError, ErrorKind};

/// One record: a JSON object keyed by field name.
pub type Record = serde_json::Map<String, Value>;

/// The state a read reached, opaque to everyone but the connector that produced it.
///
/// A connector puts whatever it needs to resume there (a cursor value, a page token, an
/// offset); the engine stores it *in the same transaction* as the data of the batch that
/// carried it and hands it back on the next [`ReadRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Checkpoint(pub Value);

impl Checkpoint {
    /// A checkpoint for a cursor-based incremental read: `{"cursor_field": .., "cursor": ..}`.
    pub fn cursor(field: impl Into<String>, value: Value) -> Self {
        Self(serde_json::json!({"cursor_field": field.into(), "cursor": value}))
    }

    /// The cursor value of a checkpoint made by [`Checkpoint::cursor`].
    pub fn cursor_value(&self) -> Option<&Value> {
        self.0.get("cursor")
    }
}

/// A batch of records of one stream plus the checkpoint reached after it: what a read
/// yields.
///
/// Committing `checkpoint` together with the batch gives at-least-once delivery without
/// gaps: after a crash the next read resumes from the last committed batch.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadBatch {
    /// The stream the records belong to.
    pub stream: String,
    /// The records, in the order read, as Arrow columns.
    pub batch: Batch,
    /// The state reached after these records (None when the stream cannot resume).
    pub checkpoint: Option<Checkpoint>,
}

impl ReadBatch {
    /// A batch (Arrow columns, or JSON records typed by [`Batch::from_records`]) with the
    /// checkpoint reached after it.
    pub fn new(
        stream: impl Into<String>,
        batch: impl Into<Batch>,
        checkpoint: Option<Checkpoint>,
    ) -> Self {
        Self {
            stream: stream.into(),
            batch: batch.into(),
            checkpoint,
        }
    }

    /// The JSON view of the records (see [`Batch::to_records`]).
    pub fn records(&self) -> Vec<Record> {
        self.batch.to_records()
    }
}

/// The stream of batches a read returns.
///
/// It is pulled: a connector fetches the next page only when the consumer polls, so memory
/// stays bounded to about one batch and a slow consumer slows the reads (backpressure).
pub type ReadStream = BoxStream<'static, Result<ReadBatch, ConnectorError>>;

/// What to read.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRequest {
    /// The stream to read.
    pub stream: String,
    /// Resume after this checkpoint (None: read everything).
    pub checkpoint: Option<Checkpoint>,
    /// The cursor field for an incremental read, when the connector lets the user choose.
    pub cursor_field: Option<String>,
    /// The largest number of records per batch the consumer wants (a hint connectors honour
    /// where the remote system allows).
    pub batch_size: usize,
}

impl ReadRequest {
    /// The default batch size.
    pub const DEFAULT_BATCH_SIZE: usize = 1000;

    /// A full read of `stream`.
    pub fn full(stream: impl Into<String>) -> Self {
        Self {
            stream: stream.into(),
            checkpoint: None,
            cursor_field: None,
            batch_size: Self::DEFAULT_BATCH_SIZE,
        }
    }

    /// Resumes from `checkpoint`.
    #[must_use]
    pub fn from_checkpoint(mut self, checkpoint: Option<Checkpoint>) -> Self {
        self.checkpoint = checkpoint;
        self
    }

    /// Uses `field` as the incremental cursor.
    #[must_use]
    pub fn with_cursor_field(mut self, field: impl Into<String>) -> Self {
        self.cursor_field = Some(field.into());
        self
    }

    /// Sets the batch size hint (at least 1).
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }
}

/// How a write applies records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// Add new records; a duplicate key is rejected.
    Insert,
    /// Insert or replace by primary key.
    Upsert,
    /// Change existing records by primary key; a missing record is rejected.
    Update,
    /// Remove records by primary key; a missing record is rejected.
    Delete,
}

impl WriteMode {
    /// Every mode.
    pub const ALL: [WriteMode; 4] = [Self::Insert, Self::Upsert, Self::Update, Self::Delete];

    /// A stable snake_case name, used in metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Upsert => "upsert",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }

    /// Whether applying the same records twice has the same effect as once, so a write
    /// that failed midway may be retried as a whole.
    pub fn idempotent(self) -> bool {
        !matches!(self, Self::Insert)
    }
}

impl fmt::Display for WriteMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one record of a write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RecordOutcome {
    /// The record was applied.
    Ok,
    /// The record was refused; it goes to the dead-letter store with this reason.
    Rejected {
        /// Why (usually [`ErrorKind::Data`], [`ErrorKind::NotFound`] or [`ErrorKind::Permission`]).
        kind: ErrorKind,
        /// A human readable reason (no secret values).
        reason: String,
    },
}

impl RecordOutcome {
    /// A rejection.
    pub fn rejected(kind: ErrorKind, reason: impl Into<String>) -> Self {
        Self::Rejected {
            kind,
            reason: reason.into(),
        }
    }

    /// Whether the record was applied.
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok)
    }
}

/// The result of a write: exactly one [`RecordOutcome`] per input record, in input order.
///
/// A failure of the whole batch (connection lost, auth refused) is an `Err(ConnectorError)`
/// instead; a write never drops a record silently.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteReport {
    /// One outcome per input record, in the same order.
    pub outcomes: Vec<RecordOutcome>,
}

impl WriteReport {
    /// A report of these outcomes.
    pub fn new(outcomes: Vec<RecordOutcome>) -> Self {
        Self { outcomes }
    }

    /// A report where all `count` records were applied.
    pub fn all_ok(count: usize) -> Self {
        Self {
            outcomes: vec![RecordOutcome::Ok; count],
        }
    }

    /// How many records were applied.
    pub fn ok_count(&self) -> usize {
        self.outcomes.iter().filter(|o| o.is_ok()).count()
    }

    /// How many records were rejected.
    pub fn rejected_count(&self) -> usize {
        self.outcomes.len() - self.ok_count()
    }

    /// The rejected records of `input` (the records the write was given) with their kind and
    /// reason, ready for the dead-letter store.
    pub fn rejections<'a>(
        &'a self,
        input: &'a [Record],
    ) -> impl Iterator<Item = (&'a Record, ErrorKind, &'a str)> + 'a {
        self.outcomes
            .iter()
            .zip(input)
            .filter_map(|(outcome, record)| match outcome {
                RecordOutcome::Ok => None,
                RecordOutcome::Rejected { kind, reason } => Some((record, *kind, reason.as_str())),
            })
    }
}
