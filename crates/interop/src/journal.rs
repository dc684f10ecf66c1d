//! [`SqlJournal`]: the engine's [`RunJournal`] over the service database — events into
//! `run_events`, counters into `flow_runs`, dead letters into `dead_letters` (durable when
//! the call returns), the letters of a batch a SQL target is committing into
//! `staged_dead_letters` until they are settled, the checkpoint into `checkpoints`.

use async_trait::async_trait;
use chrono::Utc;
use connector_sdk::Checkpoint;
use flow_engine::{DeadLetter, EngineError, EventLevel, RunCounts, RunJournal};
use serde_json::Value;
use storage::{Database, map_sqlx_error, with_conn};

use crate::{dead_letter_store, run_store};

/// The journal of one run.
pub struct SqlJournal {
    db: Database,
    run_id: String,
    flow_id: String,
}

impl SqlJournal {
    /// The journal of run `run_id` of flow `flow_id`.
    pub fn new(db: Database, run_id: impl Into<String>, flow_id: impl Into<String>) -> Self {
        Self {
            db,
            run_id: run_id.into(),
            flow_id: flow_id.into(),
        }
    }
}

fn storage_error(what: &str, error: &kernel::Error) -> EngineError {
    let retryable = error.kind() == kernel::ErrorKind::Unavailable;
    EngineError::storage(format!("{what}: {}", error.message())).with_retryable(retryable)
}

/// The checkpoint stored for a flow (or mirrored there when the target holds it).
pub async fn load_checkpoint(db: &Database, flow_id: &str) -> Result<Option<Value>, kernel::Error> {
    let state: Option<String> = with_conn!(db, |conn| {
        sqlx::query_scalar("SELECT state FROM checkpoints WHERE flow_id = $1")
            .bind(flow_id)
            .fetch_optional(conn)
            .await
            .map_err(map_sqlx_error)?
    });
    state
        .map(|text| serde_json::from_str(&text).map_err(kernel::Error::internal))
        .transpose()
}

#[async_trait]
impl RunJournal for SqlJournal {
    async fn event(&self, level: EventLevel, message: &str, fields: Value) {
        if let Err(error) =
            run_store::add_event(&self.db, &self.run_id, level.as_str(), message, &fields).await
        {
            tracing::warn!(run_id = %self.run_id, error = %error.message(), event = message, "could not store a run event");
        }
    }

    async fn progress(&self, counts: RunCounts) -> Result<(), EngineError> {
        run_store::progress(&self.db, &self.run_id, counts)
            .await
            .map_err(|error| storage_error("recording progress", &error))
    }

    async fn dead_letters(&self, letters: Vec<DeadLetter>) -> Result<(), EngineError> {
        dead_letter_store::insert(&self.db, &self.run_id, &self.flow_id, &letters)
            .await
            .map_err(|error| storage_error("storing dead letters", &error))
    }

    async fn load_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError> {
        load_checkpoint(&self.db, &self.flow_id)
            .await
            .map(|state| state.map(Checkpoint))
            .map_err(|error| storage_error("loading the checkpoint", &error))
    }

    async fn commit_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), EngineError> {
        let state = checkpoint.0.to_string();
        let db = &self.db;
        let result: Result<u64, kernel::Error> = async {
            Ok(with_conn!(db, |conn| {
                sqlx::query(
                    "INSERT INTO checkpoints (flow_id, state, run_id, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (flow_id) DO UPDATE SET state = excluded.state, run_id = excluded.run_id, \
                     updated_at = excluded.updated_at",
                )
                .bind(&self.flow_id)
                .bind(&state)
                .bind(&self.run_id)
                .bind(Utc::now())
                .execute(conn)
                .await
                .map_err(map_sqlx_error)?
                .rows_affected()
            }))
        }
        .await;
        result
            .map(|_| ())
            .map_err(|error| storage_error("committing the checkpoint", &error))
    }

    async fn stage_dead_letters(
        &self,
        checkpoint: &Checkpoint,
        letters: Vec<DeadLetter>,
    ) -> Result<(), EngineError> {
        dead_letter_store::stage(
            &self.db,
            &self.run_id,
            &self.flow_id,
            &checkpoint.0,
            &letters,
        )
        .await
        .map_err(|error| storage_error("staging dead letters", &error))
    }

    async fn staged_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError> {
        dead_letter_store::staged_checkpoint(&self.db, &self.flow_id)
            .await
            .map(|state| state.map(Checkpoint))
            .map_err(|error| storage_error("reading staged dead letters", &error))
    }

    async fn settle_staged(&self, committed: bool) -> Result<u64, EngineError> {
        dead_letter_store::settle_staged(&self.db, &self.flow_id, committed)
            .await
            .map_err(|error| storage_error("settling staged dead letters", &error))
    }
}
