//! The run manager: starts flow runs as Tokio tasks.
//!
//! - A process-wide limit of concurrent runs ([`RunSettings::max_concurrent_runs`]); runs
//!   beyond it wait in status `queued`.
//! - One run per flow at a time unless the flow sets `options.allow_concurrent_runs`: a
//!   request while a run of the flow is queued or running is refused with
//!   `409 run_in_progress` (a schedule tick is skipped), so requests never pile up. A
//!   unique index makes this hold across servers sharing the database.
//! - An `Idempotency-Key` maps to one run per flow: asking again returns that run.
//! - Cancellation: a queued run is cancelled at once; a running run stops between batches
//!   (target and checkpoint consistent). `options.run_timeout_secs` stops a run the same
//!   way (status `failed`).
//! - Each server vouches for its queued and running runs every `heartbeat_interval`; a run
//!   nobody vouched for within `abandoned_after` (its server stopped) is marked failed, at
//!   start-up and by every sweep — never the live runs of another server on the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::connectors::ConnectorRegistry;
use connector_sdk::{Connector, SecretSource};
use flow_engine::{
    ConnectorRef, EngineErrorKind, FlowSpec, NotifyPayload, RunCounts, RunOutcome, RunRequest,
    RunStatus,
};
use kernel::Error;
use serde_json::json;
use storage::Database;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::flow_store::{self, StoredFlow};
use crate::journal::SqlJournal;
use crate::run_store::{self, FlowRun, NewRun};

/// How runs are executed.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Runs executing at once in this process (default 4); more wait queued.
    pub max_concurrent_runs: usize,
    /// How often the scheduler looks for due flows (default 1 s).
    pub scheduler_tick: Duration,
    /// How often this server vouches for its queued and running runs (default 10 s).
    pub heartbeat_interval: Duration,
    /// A queued or running run nobody vouched for this long is failed as abandoned: its
    /// server stopped (default 60 s).
    pub abandoned_after: Duration,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            max_concurrent_runs: 4,
            scheduler_tick: Duration::from_secs(1),
            heartbeat_interval: Duration::from_secs(10),
            abandoned_after: Duration::from_secs(60),
        }
    }
}

/// Runs `tick` every `interval` (the first time after one interval) until `shutdown`.
pub(crate) async fn every<F, Fut>(shutdown: &CancellationToken, interval: Duration, mut tick: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        tick().await;
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `POST /api/v1/interop/flows/{id}/runs`.
    Manual,
    /// `POST /api/v1/hooks/flows/{id}`.
    Webhook,
    /// The scheduler.
    Schedule,
}

impl Trigger {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Webhook => "webhook",
            Self::Schedule => "schedule",
        }
    }
}

struct Inner {
    db: Database,
    registry: ConnectorRegistry,
    secrets: Arc<dyn SecretSource>,
    permits: Arc<Semaphore>,
    settings: RunSettings,
    /// Cancellation tokens of the runs of this process (queued or running).
    tokens: Mutex<HashMap<String, CancellationToken>>,
    /// Serializes "is a run going? then create one".
    submitting: tokio::sync::Mutex<()>,
    /// Fired when the server stops (ends the scheduler).
    shutdown: CancellationToken,
}

/// Starts, tracks and cancels runs. Cheap to clone.
#[derive(Clone)]
pub struct RunManager {
    inner: Arc<Inner>,
}

impl RunManager {
    /// A manager over the service database, connector registry and secrets.
    pub fn new(
        db: Database,
        registry: ConnectorRegistry,
        secrets: Arc<dyn SecretSource>,
        settings: RunSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(settings.max_concurrent_runs.max(1))),
                db,
                registry,
                secrets,
                settings,
                tokens: Mutex::new(HashMap::new()),
                submitting: tokio::sync::Mutex::new(()),
                shutdown: CancellationToken::new(),
            }),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &RunSettings {
        &self.inner.settings
    }

    /// Fired when the server stops.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.inner.db
    }

    /// Build the stored connector `id`.
    pub async fn connect(&self, id: &str) -> Result<Arc<dyn Connector>, String> {
        let stored = crate::connector_store::get(&self.inner.db, id)
            .await
            .map_err(|error| format!("connector {id}: {}", error.message()))?;
        self.inner
            .registry
            .build(
                &stored.connector_type,
                stored.config,
                &connector_sdk::BuildContext::new(self.inner.secrets.clone()),
            )
            .await
            .map_err(|error| format!("connector {:?}: {error}", stored.name))
    }

    /// The secrets source.
    pub fn secrets(&self) -> &Arc<dyn SecretSource> {
        &self.inner.secrets
    }

    /// Vouch for this server's queued and running runs, then fail the runs nobody vouched
    /// for within `abandoned_after` (their server stopped): at start-up and every
    /// `heartbeat_interval` (see [`RunManager::keep_alive`]). Returns how many were failed.
    /// Live runs of other servers sharing the database are left alone.
    pub async fn sweep(&self) -> Result<u64, Error> {
        let now = chrono::Utc::now();
        let mine: Vec<String> = self.tokens().keys().cloned().collect();
        run_store::heartbeat(&self.inner.db, &mine, now).await?;
        let stale_before = now
            - chrono::Duration::from_std(self.inner.settings.abandoned_after)
                .unwrap_or(chrono::Duration::MAX);
        let count = run_store::fail_abandoned(&self.inner.db, stale_before).await?;
        if count > 0 {
            tracing::warn!(count, "marked runs abandoned by a stopped server as failed");
        }
        Ok(count)
    }

    /// Sweeps every `heartbeat_interval` until the server stops.
    pub async fn keep_alive(self) {
        let interval = self.inner.settings.heartbeat_interval;
        every(&self.shutdown_token(), interval, || async {
            if let Err(error) = self.sweep().await {
                tracing::warn!(error = %error.message(), "could not vouch for the runs of this server");
            }
        })
        .await;
    }

    /// Queue a run of `flow`. Returns the run and whether it was created (false: the
    /// idempotency key named an existing run). `409 run_in_progress` when the flow allows
    /// no concurrent runs and one is queued or running.
    pub async fn submit(
        &self,
        flow: &StoredFlow,
        trigger: Trigger,
        idempotency_key: Option<String>,
        requested_by: Option<String>,
    ) -> Result<(FlowRun, bool), Error> {
        let spec = flow.spec()?;
        let guard = self.inner.submitting.lock().await;
        if let Some(key) = &idempotency_key
            && let Some(existing) =
                run_store::by_idempotency_key(&self.inner.db, &flow.id, key).await?
        {
            return Ok((existing, false));
        }
        if !spec.options.allow_concurrent_runs
            && let Some(active) = run_store::active_of_flow(&self.inner.db, &flow.id).await?
        {
            return Err(run_store::run_in_progress(&active));
        }
        let (run, created) = run_store::insert(
            &self.inner.db,
            &NewRun {
                flow_id: flow.id.clone(),
                trigger: trigger.as_str(),
                idempotency_key,
                requested_by,
                exclusive: !spec.options.allow_concurrent_runs,
            },
        )
        .await?;
        if created {
            let token = CancellationToken::new();
            self.tokens().insert(run.id.clone(), token.clone());
            let manager = self.clone();
            let run_id = run.id.clone();
            let flow_id = flow.id.clone();
            let span = tracing::info_span!(parent: None, "flow_run_job", run_id = %run_id, flow_id = %flow_id, trigger = trigger.as_str());
            span.follows_from(tracing::Span::current());
            tokio::spawn(
                async move {
                    manager.drive(&run_id, &flow_id, token).await;
                    manager.tokens().remove(&run_id);
                }
                .instrument(span),
            );
        }
        drop(guard);
        Ok((run, created))
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        match self.inner.tokens.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Cancel a run: a queued run is cancelled at once, a running one stops between
    /// batches. Returns the run as it is now. `409 run_finished` when it already ended.
    pub async fn cancel(&self, run_id: &str) -> Result<FlowRun, Error> {
        let run = run_store::get(&self.inner.db, run_id).await?;
        if run_store::is_finished(&run.status) {
            return Err(Error::new(
                kernel::ErrorKind::Conflict,
                "run_finished",
                format!("the run already ended with status {}", run.status),
            ));
        }
        run_store::cancel_queued(&self.inner.db, run_id).await?;
        let token = self.tokens().get(run_id).cloned();
        if let Some(token) = token {
            token.cancel();
        }
        run_store::get(&self.inner.db, run_id).await
    }

    /// Wait for a permit, then run.
    async fn drive(&self, run_id: &str, flow_id: &str, cancel: CancellationToken) {
        let db = &self.inner.db;
        let permit = tokio::select! {
            biased;
            () = cancel.cancelled() => {
                if let Err(error) = run_store::cancel_queued(db, run_id).await {
                    tracing::error!(error = %error.message(), "could not cancel a queued run");
                }
                return;
            }
            permit = self.inner.permits.clone().acquire_owned() => permit,
        };
        let Ok(_permit) = permit else { return };
        let trace_id = telemetry::logging::current_trace_id();
        match run_store::mark_running(db, run_id, trace_id.as_deref()).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::error!(error = %error.message(), "could not start a run");
                return;
            }
        }
        let (outcome, spec) = self.execute(run_id, flow_id, cancel).await;
        if let Err(error) = run_store::finish(
            db,
            run_id,
            outcome.status.as_str(),
            outcome.counts,
            outcome.error.as_deref(),
        )
        .await
        {
            tracing::error!(error = %error.message(), "could not record the end of a run");
        }
        if let Some(notify) = spec.and_then(|spec| spec.notify) {
            let payload = NotifyPayload::from_outcome(flow_id, Some(run_id.to_owned()), &outcome);
            if let Err(error) =
                flow_engine::notify(&notify, &payload, self.inner.secrets.as_ref()).await
            {
                tracing::warn!(error = %error, "run notification failed");
                let _ = run_store::add_event(
                    db,
                    run_id,
                    "warn",
                    "notification failed",
                    &json!({"error": error.message()}),
                )
                .await;
            }
        }
    }

    /// Build the connectors and mapping, then run the engine.
    async fn execute(
        &self,
        run_id: &str,
        flow_id: &str,
        cancel: CancellationToken,
    ) -> (RunOutcome, Option<FlowSpec>) {
        let db = &self.inner.db;
        let started_at = chrono::Utc::now();
        let failed = |message: String| RunOutcome {
            status: RunStatus::Failed,
            counts: RunCounts::default(),
            error: Some(message),
            error_kind: Some(EngineErrorKind::InvalidFlow),
            duration: Duration::ZERO,
            started_at,
            finished_at: chrono::Utc::now(),
            checkpoint: None,
            batches: 0,
        };
        let spec = match flow_store::get(db, flow_id)
            .await
            .and_then(|flow| flow.spec())
        {
            Ok(spec) => spec,
            Err(error) => {
                return (
                    failed(format!("cannot load the flow: {}", error.message())),
                    None,
                );
            }
        };
        let prepared = self.prepare(&spec).await;
        let (source, target, mapping) = match prepared {
            Ok(parts) => parts,
            Err(message) => {
                let _ = run_store::add_event(
                    db,
                    run_id,
                    "error",
                    "run failed",
                    &json!({"error": message}),
                )
                .await;
                return (failed(message), Some(spec));
            }
        };
        let journal = Arc::new(SqlJournal::new(db.clone(), run_id, flow_id));
        let outcome = flow_engine::run(RunRequest {
            flow_key: flow_id.to_owned(),
            source,
            source_stream: spec.source.stream.clone(),
            target,
            target_stream: spec.target.stream.clone(),
            mode: spec.target.mode,
            mapping,
            batch_size: spec.options.batch_size,
            max_attempts: spec.options.max_attempts,
            cancel,
            journal,
            cursor_field: spec.source.cursor_field.clone(),
            timeout: spec.options.run_timeout_secs.map(Duration::from_secs),
        })
        .await;
        (outcome, Some(spec))
    }

    #[allow(clippy::type_complexity)]
    async fn prepare(
        &self,
        spec: &FlowSpec,
    ) -> Result<
        (
            Arc<dyn Connector>,
            Arc<dyn Connector>,
            Arc<mapping::CompiledMapping>,
        ),
        String,
    > {
        let source = self.connect(stored_id(&spec.source.connector)?).await?;
        let target = self.connect(stored_id(&spec.target.connector)?).await?;
        let mapping = crate::flow_mapping::compile(&self.inner.db, spec)
            .await
            .map_err(|errors| {
                let details: Vec<String> = errors
                    .iter()
                    .map(|error| format!("{}: {}", error.path, error.message))
                    .collect();
                format!("the mapping does not compile: {}", details.join("; "))
            })?;
        Ok((source, target, mapping))
    }
}

fn stored_id(reference: &ConnectorRef) -> Result<&str, String> {
    match reference {
        ConnectorRef::Named(id) => Ok(id),
        ConnectorRef::Inline(_) => Err("a stored flow must name stored connectors".to_owned()),
    }
}
