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
use tokio::time::Instant;

use crate::connector::{Connector, HealthReport, Layer, LayeredConnector, WriteRequest};
use crate::error::{ConnectorError, Operation};
use crate::record::{ReadRequest, ReadStream, WriteReport};
use crate::schema::Catalog;

/// When and how long to wait before trying again.
///
/// Only [retryable](ConnectorError::retryable) errors are retried. An error's `retry_after`
/// (`Retry-After`) replaces the computed backoff, but only up to `max_retry_after`: asked to
/// wait longer — or longer than `max_elapsed` allows — the policy gives up at once rather
/// than wait what a remote system dictates, and returns the error, still retryable and with
/// its `retry_after`, its detail saying so (so a scheduler can come back later). Retrying
/// sooner than asked would only be refused again.
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
    /// The longest `retry_after` honoured; an error asking for more is returned at once.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// The default [`RetryPolicy::max_retry_after`]: one minute.
    pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            max_elapsed: Some(Duration::from_secs(120)),
            max_retry_after: Self::DEFAULT_MAX_RETRY_AFTER,
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
            if let Some(asked) = err.retry_after()
                && asked > self.max_retry_after
            {
                tracing::warn!(
                    operation = operation.as_str(),
                    attempt = attempts,
                    error.kind = err.kind().as_str(),
                    retry_after_s = asked.as_secs(),
                    max_retry_after_s = self.max_retry_after.as_secs(),
                    "the remote system asked to wait longer than the retry policy allows; giving up"
                );
                return Err(wait_too_long(err, asked, self.max_retry_after));
            }
            let wait = err
                .retry_after()
                .unwrap_or_else(|| self.backoff(attempts - 1));
            if let Some(max_elapsed) = self.max_elapsed
                && started.elapsed().saturating_add(wait) > max_elapsed
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

/// `error` (which asked to wait `asked`) with a detail saying why it was not retried; still
/// retryable, its `retry_after` and stream kept, the original as its source.
fn wait_too_long(error: ConnectorError, asked: Duration, cap: Duration) -> ConnectorError {
    let detail = format!(
        "{} (not retried: the remote system asked to wait {} s before retrying, more than the \
         {} s this connector waits; try again later)",
        error.detail(),
        asked.as_secs(),
        cap.as_secs()
    );
    let mut clear =
        ConnectorError::new(error.kind(), error.operation(), detail).with_retry_after(asked);
    if let Some(stream) = error.stream() {
        clear = clear.with_stream(stream.to_owned());
    }
    clear.with_source(error)
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
impl<C: Connector> LayeredConnector for Retry<C> {
    type Inner = C;

    fn inner(&self) -> &C {
        &self.inner
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

    async fn read(&self, request: ReadRequest) -> Result<ReadStream, ConnectorError> {
        self.policy
            .run(Operation::Read, || self.inner.read(request.clone()))
            .await
    }

    /// Each attempt gets the whole request again (a clone shares the batch's columns), so
    /// a retry writes exactly what the first attempt was given.
    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        if !request.mode.idempotent() && !self.retry_inserts {
            return self.inner.write(request).await;
        }
        self.policy
            .run(Operation::Write, || self.inner.write(request.clone()))
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::error::ErrorKind;

    fn rate_limited(seconds: u64) -> ConnectorError {
        ConnectorError::rate_limited(Operation::Read, Some(Duration::from_secs(seconds)))
            .with_stream("orders")
    }

    /// Runs `policy` over an operation that fails with `first` once, then succeeds; returns
    /// the result, the calls made and the time waited (tokio's paused clock).
    async fn run_once_failing(
        policy: &RetryPolicy,
        first: ConnectorError,
    ) -> (Result<u32, ConnectorError>, u32, Duration) {
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let result = policy
            .run(Operation::Read, || {
                let call = calls.fetch_add(1, Ordering::SeqCst);
                let first = first.clone();
                async move { if call == 0 { Err(first) } else { Ok(call) } }
            })
            .await;
        (result, calls.load(Ordering::SeqCst), started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_retry_after_gives_up_at_once_with_a_clear_retryable_error() {
        // Without an elapsed budget, the only bound is the cap: a server answering
        // `Retry-After: 18446744073709551615` must not park the caller (nor overflow).
        let policy = RetryPolicy {
            max_elapsed: None,
            ..RetryPolicy::default()
        };
        let (result, calls, waited) = run_once_failing(&policy, rate_limited(u64::MAX)).await;
        let err = result.unwrap_err();
        assert_eq!(calls, 1, "not retried");
        assert_eq!(waited, Duration::ZERO, "no wait at all");
        assert!(err.retryable(), "a scheduler may come back later");
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(u64::MAX)));
        assert_eq!(err.stream(), Some("orders"));
        assert!(
            err.to_string().contains(
                "asked to wait 18446744073709551615 s before retrying, more than the 60 s"
            ),
            "{err}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_retry_after_under_the_default_policy_neither_panics_nor_waits() {
        let (result, calls, waited) =
            run_once_failing(&RetryPolicy::default(), rate_limited(u64::MAX)).await;
        assert!(result.is_err());
        assert_eq!((calls, waited), (1, Duration::ZERO));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_after_up_to_the_cap_is_honoured_exactly() {
        let policy = RetryPolicy {
            max_elapsed: None,
            ..RetryPolicy::default()
        };
        let (result, calls, waited) = run_once_failing(&policy, rate_limited(60)).await;
        assert_eq!(result.unwrap(), 1);
        assert_eq!((calls, waited), (2, Duration::from_secs(60)));

        let (result, calls, waited) = run_once_failing(&policy, rate_limited(61)).await;
        assert!(result.is_err());
        assert_eq!(
            (calls, waited),
            (1, Duration::ZERO),
            "one second over the cap"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_cap_is_the_policys() {
        let policy = RetryPolicy {
            max_elapsed: None,
            max_retry_after: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let (result, calls, _) = run_once_failing(&policy, rate_limited(6)).await;
        assert!(
            result
                .unwrap_err()
                .to_string()
                .contains("more than the 5 s")
        );
        assert_eq!(calls, 1);
    }
}
