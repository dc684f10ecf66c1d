//! # grimOS flow engine
//!
//! Executes integration flows: reads a source stream in batches, maps every record,
//! writes the target, and moves a checkpoint — streaming with bounded memory, and losing
//! nothing silently: every record read is written or dead-lettered with its reason, and the
//! checkpoint never runs ahead of the data.
//!
//! - [`spec`]: the flow file model ([`FlowSpec`]) and its shape checks.
//! - [`journal`]: the [`RunJournal`] port (run log, progress, dead letters, checkpoint) and
//!   an in-memory [`MemoryJournal`].
//! - [`runner`]: [`run`] — one run, with retries, cancellation and a deadline.
//! - [`replay`](mod@replay): [`replay()`] — write dead letters again with the current mapping.
//! - [`notify`](mod@notify): [`notify()`] — the signed end-of-run webhook.
//! - [`file_run`]: [`run_file`] and [`validate_file`] for the CLI.
//! - [`metrics`]: the metric names.
//!
//! Knows nothing about HTTP servers or the service database: the interop service supplies
//! connectors, the compiled mapping and a journal; see `docs/flows.md`.

pub mod error;
pub mod file_run;
pub mod journal;
pub mod metrics;
pub mod notify;
pub mod replay;
mod retry;
pub mod runner;
pub mod spec;

pub use error::{EngineError, EngineErrorKind};
pub use file_run::{
    FileJournal, FileRunReport, ValidationReport, file_flow_key, run_file, run_file_with_cancel,
    state_paths, validate_file,
};
pub use journal::{
    DeadLetter, DeadLetterStage, EventLevel, JournalEvent, MemoryJournal, RunCounts, RunJournal,
};
pub use notify::{NotifyPayload, SIGNATURE_HEADER, notify, signature};
pub use replay::{
    ReplayOutcome, ReplayRecord, ReplayRecordOutcome, ReplayRequest, ReplayResult, replay,
};
pub use runner::{RunOutcome, RunRequest, RunStatus, run};
pub use spec::{ConnectorRef, FlowSpec, NotifySpec, RunOptions, SourceSpec, TargetSpec};
pub use tokio_util::sync::CancellationToken;
