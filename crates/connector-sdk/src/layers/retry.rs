//! Retries with exponential backoff and full jitter: a [`RetryPolicy`] connectors call around
//! each page fetch, and a [`RetryLayer`] for whole operations (check, discover, opening a
//! read, idempotent writes).
//!
//! Reads are retried page by page, not as a whole stream: a failure on page 40 must not
//! restart from page 1. A connector wraps each page fetch in [`RetryPolicy::run`] (or builds
//! its stream with [`crate::paged_stream`], which does it), and the layer retries only
//! opening the read.

use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use serde_json::Value;
use tokio::time::Instant;

use crate::capability::Capabilities;
use crate::connector::{
    Connector, HealthReport, Layer, PreparedWrite, TargetCheckpoint, write_records,
};
use crate::error::{ConnectorError, Operation};
use crate::record::{Checkpoint, ReadRequest, Record, RecordBatchStream, WriteMode, WriteReport};
use crate::schema::Catalog;

/// When and how long to wait before trying again.
///
/// Only [retryable](ConnectorError::retryable) errors are retried. A rate-limited error's
/// `retry_after` replaces the computed backoff; when it would overrun `max_elapsed` the error
/// is returned at once (with its `retry_after`, so a scheduler can come back later).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts, the first one included (1 disables retries).
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry; it doubles with each retry.
    pub initial_backoff: Duration,
    /// The largest backoff ceiling.
    pub max_backoff: Duration,
    /// Give up when the next wait would end later than this after the first attempt.
    pub max_elapsed: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            max_elapsed: Some(Duration::from_secs(120)),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The backoff before retry number `retry` (0-based), with full jitter: a uniformly
    /// random duration between zero and `min(max_backoff, initial_backoff * 2^retry)`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        let ceiling = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff);
        let ceiling_nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if ceiling_nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(rand::rng().random_range(0..=ceiling_nanos))
    }

    /// Runs `attempt` until it succeeds, fails with a non-retryable error, or the policy
    /// gives up (then the last error is returned).
    pub async fn run<T, F, Fut>(
        &self,
        operation: Operation,
        mut attempt: F,
    ) -> Result<T, ConnectorError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ConnectorError>>,
    {
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let err = match attempt().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if !err.retryable() || attempts >= self.max_attempts {
                return Err(err);
            }
            let wait = err
                .retry_after()
                .unwrap_or_else(|| self.backoff(attempts - 1));
            if let Some(max_elapsed) = self.max_elapsed
                && started.elapsed() + wait > max_elapsed
            {
                return Err(err);
            }
            tracing::warn!(
                operation = operation.as_str(),
                attempt = attempts,
                error.kind = err.kind().as_str(),
                error = %err,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "connector operation failed, retrying"
            );
            metrics::counter!(
                "connector_retries_total",
                "operation" => operation.as_str(),
                "kind" => err.kind().as_str()
            )
            .increment(1);
            tokio::time::sleep(wait).await;
        }
    }
}

/// Retries whole operations of the wrapped connector according to a [`RetryPolicy`].
///
/// - `check`, `discover`: retried.
/// - `read`: opening the read is retried; batches are retried by the connector per page.
/// - `write`: retried only in idempotent modes (upsert, update, delete): an insert that
///   failed midway may have applied part of the batch, and retrying it would duplicate
///   rows. Use [`RetryLayer::retry_inserts`] when the connector writes a batch atomically.
#[derive(Debug, Clone, Default)]
pub struct RetryLayer {
    policy: RetryPolicy,
    retry_inserts: bool,
}

impl RetryLayer {
    /// A layer applying `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            retry_inserts: false,
        }
    }

    /// Also retries inserts (only for connectors whose batch write is atomic).
    #[must_use]
    pub fn retry_inserts(mut self, retry: bool) -> Self {
        self.retry_inserts = retry;
        self
    }
}

impl<C: Connector> Layer<C> for RetryLayer {
    type Output = Retry<C>;

    fn layer(&self, inner: C) -> Retry<C> {
        Retry {
            inner,
            policy: self.policy.clone(),
            retry_inserts: self.retry_inserts,
        }
    }
}

/// A connector wrapped by [`RetryLayer`].
#[derive(Debug)]
pub struct Retry<C> {
    inner: C,
    policy: RetryPolicy,
    retry_inserts: bool,
}

#[async_trait]
impl<C: Connector> Connector for Retry<C> {
    fn connector_type(&self) -> &str {
        self.inner.connector_type()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn spec(&self) -> Value {
        self.inner.spec()
    }

    async fn check(&self) -> HealthReport {
        let started = Instant::now();
        let result = self
            .policy
            .run(Operation::Check, || async {
                let report = self.inner.check().await;
                match report.error {
                    Some(err) => Err(err),
                    None => Ok(()),
                }
            })
            .await;
        HealthReport {
            latency: started.elapsed(),
            error: result.err(),
        }
    }

    async fn discover(&self) -> Result<Catalog, ConnectorError> {
        self.policy
            .run(Operation::Discover, || self.inner.discover())
            .await
    }

    async fn read(&self, request: ReadRequest) -> Result<RecordBatchStream, ConnectorError> {
        self.policy
            .run(Operation::Read, || self.inner.read(request.clone()))
            .await
    }

    async fn write(
        &self,
        stream: &str,
        mode: WriteMode,
        records: Vec<Record>,
    ) -> Result<WriteReport, ConnectorError> {
        if !mode.idempotent() && !self.retry_inserts {
            return self.inner.write(stream, mode, records).await;
        }
        self.policy
            .run(Operation::Write, || {
                self.inner.write(stream, mode, records.clone())
            })
            .await
    }

    fn commits_checkpoints(&self) -> bool {
        self.inner.commits_checkpoints()
    }

    async fn load_checkpoint(&self, key: &str) -> Result<Option<Checkpoint>, ConnectorError> {
        self.inner.load_checkpoint(key).await
    }

    async fn write_with_checkpoint(
        &self,
        stream: &str,
        mode: WriteMode,
        records: Vec<Record>,
        checkpoint: TargetCheckpoint,
    ) -> Result<WriteReport, ConnectorError> {
        if !mode.idempotent() && !self.retry_inserts {
            return self
                .inner
                .write_with_checkpoint(stream, mode, records, checkpoint)
                .await;
        }
        self.policy
            .run(Operation::Write, || {
                self.inner
                    .write_with_checkpoint(stream, mode, records.clone(), checkpoint.clone())
            })
            .await
    }

    async fn prepare_write(
        &self,
        stream: &str,
        mode: WriteMode,
        records: Vec<Record>,
    ) -> Result<PreparedWrite, ConnectorError> {
        self.inner.prepare_write(stream, mode, records).await
    }

    async fn write_prepared(
        &self,
        stream: &str,
        mode: WriteMode,
        batch: PreparedWrite,
        checkpoint: Option<TargetCheckpoint>,
    ) -> Result<WriteReport, ConnectorError> {
        if !mode.idempotent() && !self.retry_inserts {
            return self
                .inner
                .write_prepared(stream, mode, batch, checkpoint)
                .await;
        }
        // A retried write needs the records again; the prepared work cannot be copied.
        let (records, _) = batch.into_parts::<()>();
        write_records(self, stream, mode, records, checkpoint).await
    }
}
