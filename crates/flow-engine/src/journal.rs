//! The [`RunJournal`] port through which a run records its log, progress, dead letters and
//! checkpoint, and [`MemoryJournal`], an in-memory journal (tests, previews).

use std::sync::Mutex;

use async_trait::async_trait;
use connector_sdk::Checkpoint;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::EngineError;

/// The severity of a run log event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventLevel {
    /// Detail for debugging.
    Debug,
    /// Normal progress (start, end).
    Info,
    /// Something a user should look at (rejections, retries).
    Warn,
    /// A failure.
    Error,
}

impl EventLevel {
    /// A stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// Record counts of a run. At the end of a run `read == written + rejected`: every record
/// read was written or dead-lettered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Records read from the source and processed.
    pub read: u64,
    /// Records the target applied.
    pub written: u64,
    /// Records dead-lettered (mapping or target rejection).
    pub rejected: u64,
}

/// Where a record was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterStage {
    /// The mapping could not build a target record.
    Mapping,
    /// The target refused the mapped record.
    Target,
}

impl DeadLetterStage {
    /// A stable snake_case name, used in metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mapping => "mapping",
            Self::Target => "target",
        }
    }
}

/// A record that could not be delivered, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Where it was refused.
    pub stage: DeadLetterStage,
    /// The record as read from the source (what a replay maps again).
    pub source_record: Value,
    /// The mapped record (stage `Target` only).
    pub mapped_record: Option<Value>,
    /// Why, for a person (mapping errors name rule and target field; target errors the
    /// database or API message).
    pub reason: String,
}

/// Where a run keeps its log, progress, dead letters and checkpoint. The interop service
/// implements it over its database; the CLI over files next to the flow file.
///
/// Ordering guarantees of the engine: `dead_letters` of a batch are called (and must be
/// durable when they return `Ok`) before `commit_checkpoint` moves past that batch. When
/// the target commits the checkpoint with its rows, the batch's dead letters are *staged*
/// (`stage_dead_letters`, durable on `Ok`) from inside the target's transaction, before its
/// commit, and settled after it (`settle_staged`); a run that starts settles what a crash
/// left staged by comparing the staged checkpoint with the target's. So every reject is
/// stored exactly once whatever step a crash interrupts (see `ARCHITECTURE.md`).
#[async_trait]
pub trait RunJournal: Send + Sync {
    /// Appends an event to the run log. `fields` never carry secret values. Infallible:
    /// a journal that cannot store an event logs it instead.
    async fn event(&self, level: EventLevel, message: &str, fields: Value);

    /// Records the counts so far (called after each batch).
    async fn progress(&self, counts: RunCounts) -> Result<(), EngineError>;

    /// Stores dead letters durably.
    async fn dead_letters(&self, letters: Vec<DeadLetter>) -> Result<(), EngineError>;

    /// The flow's last committed checkpoint.
    async fn load_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError>;

    /// Commits the flow's checkpoint (or mirrors it, for display, when the target keeps it).
    async fn commit_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), EngineError>;

    /// Stores `letters` durably, but not yet as dead letters: those of the batch that moves
    /// the flow's checkpoint to `checkpoint`, which the target is about to commit. Replaces
    /// whatever the flow had staged (an earlier attempt of the same batch); an empty
    /// `letters` clears it. At most one batch per flow is staged at a time.
    async fn stage_dead_letters(
        &self,
        checkpoint: &Checkpoint,
        letters: Vec<DeadLetter>,
    ) -> Result<(), EngineError>;

    /// The checkpoint of the flow's staged letters, if any are staged.
    async fn staged_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError>;

    /// Settles the flow's staged letters, atomically: stored as dead letters (of the run
    /// that staged them) when `committed` — the target committed their batch — and dropped
    /// otherwise — it rolled the batch back, which is read again. Returns how many became
    /// dead letters; nothing staged is `Ok(0)`.
    async fn settle_staged(&self, committed: bool) -> Result<u64, EngineError>;
}

/// One logged event of a [`MemoryJournal`].
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEvent {
    /// Its level.
    pub level: EventLevel,
    /// Its message.
    pub message: String,
    /// Its fields.
    pub fields: Value,
}

#[derive(Debug, Default)]
struct MemoryState {
    events: Vec<JournalEvent>,
    progress: Vec<RunCounts>,
    dead_letters: Vec<DeadLetter>,
    checkpoint: Option<Checkpoint>,
    staged: Option<(Checkpoint, Vec<DeadLetter>)>,
}

/// A [`RunJournal`] in memory: for tests, previews and one-off runs. It keeps the
/// checkpoint across runs that share it.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    state: Mutex<MemoryState>,
}

impl MemoryJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// A journal starting from `checkpoint`.
    pub fn with_checkpoint(checkpoint: Option<Checkpoint>) -> Self {
        let journal = Self::default();
        journal.with_state(|state| state.checkpoint = checkpoint);
        journal
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut MemoryState) -> T) -> T {
        let mut guard = match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// The events logged so far.
    pub fn events(&self) -> Vec<JournalEvent> {
        self.with_state(|s| s.events.clone())
    }

    /// Every progress report so far.
    pub fn progress_reports(&self) -> Vec<RunCounts> {
        self.with_state(|s| s.progress.clone())
    }

    /// The dead letters stored so far.
    pub fn stored_dead_letters(&self) -> Vec<DeadLetter> {
        self.with_state(|s| s.dead_letters.clone())
    }

    /// Removes and returns the dead letters (e.g. to replay them).
    pub fn take_dead_letters(&self) -> Vec<DeadLetter> {
        self.with_state(|s| std::mem::take(&mut s.dead_letters))
    }

    /// The committed checkpoint.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        self.with_state(|s| s.checkpoint.clone())
    }

    /// The staged dead letters and their checkpoint, if any.
    pub fn staged(&self) -> Option<(Checkpoint, Vec<DeadLetter>)> {
        self.with_state(|s| s.staged.clone())
    }
}

#[async_trait]
impl RunJournal for MemoryJournal {
    async fn event(&self, level: EventLevel, message: &str, fields: Value) {
        self.with_state(|s| {
            s.events.push(JournalEvent {
                level,
                message: message.to_owned(),
                fields,
            });
        });
    }

    async fn progress(&self, counts: RunCounts) -> Result<(), EngineError> {
        self.with_state(|s| s.progress.push(counts));
        Ok(())
    }

    async fn dead_letters(&self, letters: Vec<DeadLetter>) -> Result<(), EngineError> {
        self.with_state(|s| s.dead_letters.extend(letters));
        Ok(())
    }

    async fn load_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError> {
        Ok(self.checkpoint())
    }

    async fn commit_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), EngineError> {
        self.with_state(|s| s.checkpoint = Some(checkpoint.clone()));
        Ok(())
    }

    async fn stage_dead_letters(
        &self,
        checkpoint: &Checkpoint,
        letters: Vec<DeadLetter>,
    ) -> Result<(), EngineError> {
        self.with_state(|s| {
            s.staged = (!letters.is_empty()).then(|| (checkpoint.clone(), letters));
        });
        Ok(())
    }

    async fn staged_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError> {
        Ok(self.with_state(|s| s.staged.as_ref().map(|(c, _)| c.clone())))
    }

    async fn settle_staged(&self, committed: bool) -> Result<u64, EngineError> {
        Ok(self.with_state(|s| match s.staged.take() {
            Some((_, letters)) if committed => {
                let count = letters.len() as u64;
                s.dead_letters.extend(letters);
                count
            }
            _ => 0,
        }))
    }
}
