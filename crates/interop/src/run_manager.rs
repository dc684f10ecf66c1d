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
//! - A default timeout ([`RunSettings::default_run_timeout`], 1 hour) for flows that set
//!   none.
//! - Graceful shutdown ([`RunManager::shutdown`]): runs are cancelled at a batch boundary,
//!   waited for within the grace period and released (`queued` with `released_at`); the
//!   next server to start, or a live one at its next sweep, adopts each released run once
//!   (a conditional update) and resumes it from its checkpoint, its counters carried over.
//! - Dead-letter replay jobs run as tracked tasks ([`RunManager::spawn_replay`]) that the
//!   shutdown cancels and waits for too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use connector_sdk::Connector;
use flow_engine::{
    ConnectorRef, EngineErrorKind, FlowSpec, NotifyPayload, RunCounts, RunOutcome, RunRequest,
    RunStatus,
};
use kernel::Error;
use secret_access::Actor;
use serde_json::json;
use storage::Database;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::connector_access::ConnectorAccess;
use crate::flow_store::{self, StoredFlow};
use crate::journal::SqlJournal;
use crate::run_store::{self, FlowRun, NewRun};

/// The run timeout of flows that set none (see [`RunSettings::default_run_timeout`]).
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(3600);

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
    /// How long a run may take when its flow sets no `options.run_timeout_secs` (default
    /// 1 hour; `None`: no limit). A run reaching it stops between batches, like one reaching
    /// its flow's own timeout: status `failed`, error kind `timeout`, target and checkpoint
    /// consistent. The setting `flows.default_run_timeout_secs` sets it.
    pub default_run_timeout: Option<Duration>,
    /// How far the `t` of a webhook signature may be from this server's clock, either way
    /// (default 300 s). A signature is accepted once within its window.
    pub webhook_tolerance: Duration,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            max_concurrent_runs: 4,
            scheduler_tick: Duration::from_secs(1),
            heartbeat_interval: Duration::from_secs(10),
            abandoned_after: Duration::from_secs(60),
            default_run_timeout: Some(DEFAULT_RUN_TIMEOUT),
            webhook_tolerance: Duration::from_secs(300),
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
    access: ConnectorAccess,
    permits: Arc<Semaphore>,
    settings: RunSettings,
    /// The runs of this process (queued or running).
    runs: Tasks,
    /// The dead-letter replay jobs of this process.
    replays: Tasks,
    /// Serializes "is a run going? then create one".
    submitting: tokio::sync::Mutex<()>,
    /// Fired when the server stops (ends the scheduler).
    shutdown: CancellationToken,
    /// Set once the server is stopping: cancelled runs are released for another server
    /// (or the next start) to resume instead of ending `cancelled`, and no run starts here.
    stopping: AtomicBool,
}

/// Tasks of this process by id (runs or replay jobs): their cancellation token and handle.
#[derive(Default)]
struct Tasks {
    entries: Mutex<HashMap<String, TaskEntry>>,
}

struct TaskEntry {
    token: CancellationToken,
    handle: Option<tokio::task::JoinHandle<()>>,
    /// Cancelled by a user (not by the server stopping).
    cancelled_by_user: bool,
}

impl Tasks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TaskEntry>> {
        match self.entries.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn ids(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn cancel_by_user(&self, id: &str) {
        if let Some(entry) = self.lock().get_mut(id) {
            entry.cancelled_by_user = true;
            entry.token.cancel();
        }
    }

    fn cancelled_by_user(&self, id: &str) -> bool {
        self.lock()
            .get(id)
            .is_some_and(|entry| entry.cancelled_by_user)
    }

    fn cancel_all(&self) {
        for entry in self.lock().values() {
            entry.token.cancel();
        }
    }

    /// Wait until every task ended or `deadline` passed; true when all ended.
    async fn wait_empty(&self, deadline: tokio::time::Instant) -> bool {
        loop {
            if self.lock().is_empty() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Abort the tasks still going and wait until they are gone; returns their ids.
    async fn abort_all(&self) -> Vec<String> {
        let entries: Vec<(String, TaskEntry)> = self.lock().drain().collect();
        let mut ids = Vec::with_capacity(entries.len());
        for (id, entry) in entries {
            if let Some(handle) = entry.handle {
                handle.abort();
                let _ = handle.await;
            }
            ids.push(id);
        }
        ids
    }
}

/// Starts, tracks and cancels runs. Cheap to clone.
#[derive(Clone)]
pub struct RunManager {
    inner: Arc<Inner>,
}

impl RunManager {
    /// A manager over the service database and the connector access.
    pub fn new(db: Database, access: ConnectorAccess, settings: RunSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(settings.max_concurrent_runs.max(1))),
                db,
                access,
                settings,
                runs: Tasks::default(),
                replays: Tasks::default(),
                submitting: tokio::sync::Mutex::new(()),
                shutdown: CancellationToken::new(),
                stopping: AtomicBool::new(false),
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

    /// Build the stored connector `id` for `actor` (a flow's owner).
    pub async fn connect(&self, id: &str, actor: &Actor) -> Result<Arc<dyn Connector>, String> {
        let stored = crate::connector_store::get(&self.inner.db, id)
            .await
            .map_err(|error| format!("connector {id}: {}", error.message()))?;
        self.inner
            .access
            .build(&stored.connector_type, stored.config, actor)
            .await
            .map_err(|error| format!("connector {:?}: {error}", stored.name))
    }

    /// The connector access (secret use, egress).
    pub fn access(&self) -> &ConnectorAccess {
        &self.inner.access
    }

    /// Adopt the runs a stopping server released (resuming them here from their
    /// checkpoint), vouch for this server's queued and running runs, then fail the runs
    /// nobody vouched for within `abandoned_after` (their server stopped without releasing
    /// them): at start-up and every `heartbeat_interval` (see [`RunManager::keep_alive`]).
    /// Returns how many were failed. Live runs of other servers sharing the database are
    /// left alone.
    pub async fn sweep(&self) -> Result<u64, Error> {
        if self.is_stopping() {
            // Neither adopt runs nor judge others while handing this server's runs over.
            return Ok(0);
        }
        let adopted = self.adopt_released().await?;
        if adopted > 0 {
            tracing::info!(
                count = adopted,
                "resuming runs released by a stopping server"
            );
        }
        let now = chrono::Utc::now();
        let mine = self.inner.runs.ids();
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
            self.spawn_run(&run.id, &flow.id, trigger.as_str(), RunCounts::default())
                .await;
        }
        drop(guard);
        Ok((run, created))
    }

    /// Run the queued run `run_id` in a task of this process; `base` are the counters of
    /// the part an earlier server ran before it stopped. While the server is stopping the
    /// run is released instead, for another server (or the next start) to run.
    async fn spawn_run(&self, run_id: &str, flow_id: &str, trigger: &str, base: RunCounts) {
        let token = CancellationToken::new();
        self.inner.runs.lock().insert(
            run_id.to_owned(),
            TaskEntry {
                token: token.clone(),
                handle: None,
                cancelled_by_user: false,
            },
        );
        if self.is_stopping() {
            self.inner.runs.lock().remove(run_id);
            self.release(run_id, None).await;
            return;
        }
        let manager = self.clone();
        let run = run_id.to_owned();
        let flow = flow_id.to_owned();
        let span = tracing::info_span!(parent: None, "flow_run_job", run_id = %run, flow_id = %flow, trigger);
        span.follows_from(tracing::Span::current());
        let handle = tokio::spawn(
            async move {
                manager.drive(&run, &flow, token, base).await;
                manager.inner.runs.lock().remove(&run);
            }
            .instrument(span),
        );
        if let Some(entry) = self.inner.runs.lock().get_mut(run_id) {
            entry.handle = Some(handle);
        }
    }

    /// Whether the server is stopping.
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::SeqCst)
    }

    /// Stop: end the scheduler and the heartbeat, cancel this server's runs and replay jobs
    /// at their next batch boundary and wait for them up to `grace`. A run stopped so is put
    /// back to `queued` and released (`released_at`): the next server to start — or one
    /// still running on the same database, at its next sweep — adopts it and resumes it from
    /// its checkpoint, so nothing is lost, and as only one server can adopt it (a
    /// conditional update), nothing runs twice. What has not stopped when `grace` runs out is
    /// aborted (an uncommitted batch is rolled back with its checkpoint by the target, or
    /// written again on resumption), then released the same way.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.stopping.store(true, Ordering::SeqCst);
        self.inner.shutdown.cancel();
        let deadline = tokio::time::Instant::now() + grace;
        self.inner.runs.cancel_all();
        self.inner.replays.cancel_all();
        let runs_stopped = self.inner.runs.wait_empty(deadline).await;
        let replays_stopped = self.inner.replays.wait_empty(deadline).await;
        if !runs_stopped {
            let aborted = self.inner.runs.abort_all().await;
            tracing::warn!(
                count = aborted.len(),
                grace_secs = grace.as_secs(),
                "runs did not reach a batch boundary within the grace period; aborted and released for resumption"
            );
            for run_id in aborted {
                self.release(&run_id, None).await;
            }
        }
        if !replays_stopped {
            for job_id in self.inner.replays.abort_all().await {
                if let Err(error) =
                    crate::dead_letter_store::abandon_replay(&self.inner.db, &job_id).await
                {
                    tracing::error!(error = %error.message(), job_id, "could not release the letters of an aborted replay");
                }
            }
        }
    }

    /// Put the run back to `queued`, released for any server to adopt; `counts` (the
    /// counters so far) when known.
    async fn release(&self, run_id: &str, counts: Option<RunCounts>) {
        let db = &self.inner.db;
        match handoff::release(db, run_id, counts).await {
            Ok(true) => {
                let _ = run_store::add_event(
                    db,
                    run_id,
                    "warn",
                    "the server stopped: the run is released, to be resumed from its checkpoint by the next server",
                    &serde_json::Value::Null,
                )
                .await;
                tracing::info!(run_id, "run released for resumption by another server");
            }
            Ok(false) => {}
            Err(error) => {
                tracing::error!(error = %error.message(), run_id, "could not release a run; it will be failed as abandoned");
            }
        }
    }

    /// Adopt the runs released by stopping servers and run them here; returns how many.
    async fn adopt_released(&self) -> Result<usize, Error> {
        let db = &self.inner.db;
        let mut adopted = 0;
        for run in handoff::released(db).await? {
            if !handoff::adopt(db, &run.id).await? {
                continue;
            }
            adopted += 1;
            let _ = run_store::add_event(
                db,
                &run.id,
                "info",
                "resumed from the checkpoint after the server running it stopped",
                &json!({"records_read": run.records_read, "records_written": run.records_written, "records_rejected": run.records_rejected}),
            )
            .await;
            let base = RunCounts {
                read: u64::try_from(run.records_read).unwrap_or_default(),
                written: u64::try_from(run.records_written).unwrap_or_default(),
                rejected: u64::try_from(run.records_rejected).unwrap_or_default(),
            };
            self.spawn_run(&run.id, &run.flow_id, &run.trigger, base)
                .await;
        }
        Ok(adopted)
    }

    /// Run a dead-letter replay job (`job`, given a token fired when the server stops) in a
    /// task the shutdown waits for.
    pub fn spawn_replay<F, Fut>(&self, job_id: &str, job: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let token = CancellationToken::new();
        self.inner.replays.lock().insert(
            job_id.to_owned(),
            TaskEntry {
                token: token.clone(),
                handle: None,
                cancelled_by_user: false,
            },
        );
        if self.is_stopping() {
            token.cancel();
        }
        let manager = self.clone();
        let id = job_id.to_owned();
        let future = job(token);
        let handle = tokio::spawn(
            async move {
                future.await;
                manager.inner.replays.lock().remove(&id);
            }
            .instrument(tracing::info_span!("dead_letter_replay_job", job_id)),
        );
        if let Some(entry) = self.inner.replays.lock().get_mut(job_id) {
            entry.handle = Some(handle);
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
        self.inner.runs.cancel_by_user(run_id);
        run_store::get(&self.inner.db, run_id).await
    }

    /// Whether the run was cancelled because the server is stopping (and not by a user):
    /// then it is released for resumption rather than ended.
    fn stopped_by_shutdown(&self, run_id: &str) -> bool {
        self.is_stopping() && !self.inner.runs.cancelled_by_user(run_id)
    }

    /// Wait for a permit, then run; `base` are the counters of an earlier server's part.
    async fn drive(&self, run_id: &str, flow_id: &str, cancel: CancellationToken, base: RunCounts) {
        let db = &self.inner.db;
        let permit = tokio::select! {
            biased;
            () = cancel.cancelled() => {
                if self.stopped_by_shutdown(run_id) {
                    self.release(run_id, None).await;
                } else if let Err(error) = run_store::cancel_queued(db, run_id).await {
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
        let (mut outcome, spec, owner) = self.execute(run_id, flow_id, cancel).await;
        outcome.counts = RunCounts {
            read: base.read.saturating_add(outcome.counts.read),
            written: base.written.saturating_add(outcome.counts.written),
            rejected: base.rejected.saturating_add(outcome.counts.rejected),
        };
        if outcome.status == RunStatus::Cancelled && self.stopped_by_shutdown(run_id) {
            // Stopped at a batch boundary by the shutdown: the checkpoint covers what was
            // written; another server resumes from it.
            self.release(run_id, Some(outcome.counts)).await;
            return;
        }
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
            // The notification acts for the same principal as the run.
            let owner = owner.unwrap_or_else(Actor::nobody);
            let secrets = self.inner.access.secrets_for(&owner);
            let egress = self.inner.access.egress().clone();
            if let Err(error) =
                flow_engine::notify(&notify, &payload, secrets.as_ref(), &egress).await
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

    /// Build the connectors and mapping for the flow's owner, then run the engine. Also
    /// answers the flow and the owner the run acted for, when they could be loaded.
    async fn execute(
        &self,
        run_id: &str,
        flow_id: &str,
        cancel: CancellationToken,
    ) -> (RunOutcome, Option<FlowSpec>, Option<Actor>) {
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
                    None,
                );
            }
        };
        let owner = match crate::connector_access::flow_owner(db, flow_id).await {
            Ok(owner) => owner,
            Err(error) => {
                return (
                    failed(format!("cannot load the flow's owner: {}", error.message())),
                    Some(spec),
                    None,
                );
            }
        };
        if let Err(error) = crate::connector_access::record_acting_subject(db, run_id, &owner).await
        {
            tracing::warn!(error = %error.message(), "could not record the principal a run acts for");
        }
        let prepared = self.prepare(&spec, &owner).await;
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
                return (failed(message), Some(spec), Some(owner));
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
            timeout: spec
                .options
                .run_timeout_secs
                .map(Duration::from_secs)
                .or(self.inner.settings.default_run_timeout),
        })
        .await;
        (outcome, Some(spec), Some(owner))
    }

    #[allow(clippy::type_complexity)]
    async fn prepare(
        &self,
        spec: &FlowSpec,
        owner: &Actor,
    ) -> Result<
        (
            Arc<dyn Connector>,
            Arc<dyn Connector>,
            Arc<mapping::CompiledMapping>,
        ),
        String,
    > {
        let source = self
            .connect(stored_id(&spec.source.connector)?, owner)
            .await?;
        let target = self
            .connect(stored_id(&spec.target.connector)?, owner)
            .await?;
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

/// The queries of the run hand-off between servers (graceful shutdown and resumption).
mod handoff {
    use chrono::Utc;
    use flow_engine::RunCounts;
    use kernel::Error;
    use storage::{Database, map_sqlx_error, with_conn};

    /// A run released by a stopping server.
    #[derive(Debug, sqlx::FromRow)]
    pub(super) struct Released {
        pub id: String,
        pub flow_id: String,
        #[sqlx(rename = "trigger_kind")]
        pub trigger: String,
        pub records_read: i64,
        pub records_written: i64,
        pub records_rejected: i64,
    }

    fn count(value: u64) -> i64 {
        i64::try_from(value).unwrap_or(i64::MAX)
    }

    /// Put a queued or running run back to `queued`, released (with its counters so far
    /// when given). False when it is no longer queued or running.
    pub(super) async fn release(
        db: &Database,
        run_id: &str,
        counts: Option<RunCounts>,
    ) -> Result<bool, Error> {
        let now = Utc::now();
        let affected = with_conn!(db, |conn| {
            match counts {
                Some(counts) => sqlx::query(
                    "UPDATE flow_runs SET status = 'queued', released_at = $1, heartbeat_at = $1, \
                         records_read = $2, records_written = $3, records_rejected = $4 \
                         WHERE id = $5 AND status IN ('queued', 'running')",
                )
                .bind(now)
                .bind(count(counts.read))
                .bind(count(counts.written))
                .bind(count(counts.rejected))
                .bind(run_id)
                .execute(conn)
                .await,
                None => sqlx::query(
                    "UPDATE flow_runs SET status = 'queued', released_at = $1, heartbeat_at = $1 \
                         WHERE id = $2 AND status IN ('queued', 'running')",
                )
                .bind(now)
                .bind(run_id)
                .execute(conn)
                .await,
            }
            .map_err(map_sqlx_error)?
            .rows_affected()
        });
        Ok(affected == 1)
    }

    /// The released runs, oldest first.
    pub(super) async fn released(db: &Database) -> Result<Vec<Released>, Error> {
        Ok(with_conn!(db, |conn| {
            sqlx::query_as(
                "SELECT id, flow_id, trigger_kind, records_read, records_written, records_rejected \
                 FROM flow_runs WHERE released_at IS NOT NULL AND status = 'queued' ORDER BY id",
            )
            .fetch_all(conn)
            .await
            .map_err(map_sqlx_error)?
        }))
    }

    /// Take a released run for this server; false when another server took it first.
    pub(super) async fn adopt(db: &Database, run_id: &str) -> Result<bool, Error> {
        let affected = with_conn!(db, |conn| {
            sqlx::query(
                "UPDATE flow_runs SET released_at = NULL, heartbeat_at = $1 \
                 WHERE id = $2 AND released_at IS NOT NULL AND status = 'queued'",
            )
            .bind(Utc::now())
            .bind(run_id)
            .execute(conn)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected()
        });
        Ok(affected == 1)
    }
}
