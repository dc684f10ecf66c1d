//! Writing one batch with retries: exponential backoff with full jitter, only when a
//! retry cannot duplicate data, interrupted by cancellation or the run deadline.

use std::sync::Arc;
use std::time::Duration;

use connector_sdk::{
    Batch, Connector, ConnectorError, TargetCheckpoint, WriteMode, WriteReport, WriteRequest,
};
use rand::Rng as _;
use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::journal::{EventLevel, RunJournal};

/// The first retry delay.
pub(crate) const BASE_DELAY: Duration = Duration::from_millis(200);

/// The longest retry delay.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(30);

/// The longest wait a run honours when the target asks for one (`Retry-After`): asked
/// for longer, the batch is not retried and the run fails with the target's error (the
/// next run resumes from the checkpoint), instead of holding its slot for as long as a
/// remote system says.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The delay before attempt `attempt + 1` (attempt counts from 1): full jitter over an
/// exponentially growing ceiling, at least what the remote system asked for (up to
/// [`MAX_RETRY_AFTER`]).
pub(crate) fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let exponent = attempt.saturating_sub(1).min(16);
    let ceiling = BASE_DELAY.saturating_mul(1 << exponent).min(MAX_DELAY);
    let half = ceiling / 2;
    let jitter = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
    let delay = half + Duration::from_millis(jitter);
    retry_after.map_or(delay, |asked| asked.min(MAX_RETRY_AFTER).max(delay))
}

/// Why waiting stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interrupted {
    /// The cancel token fired.
    Cancelled,
    /// The run deadline passed.
    TimedOut,
}

/// Sleeps `delay` unless cancelled or past `deadline`.
pub(crate) async fn pause(
    delay: Duration,
    cancel: &CancellationToken,
    deadline: Option<Instant>,
) -> Result<(), Interrupted> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(Interrupted::Cancelled),
        () = sleep_until(deadline) => Err(Interrupted::TimedOut),
        () = tokio::time::sleep(delay) => Ok(()),
    }
}

/// Sleeps until `deadline`, forever without one.
pub(crate) async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// One batch write to do.
pub(crate) struct BatchWrite<'a> {
    pub target: &'a Arc<dyn Connector>,
    pub stream: &'a str,
    pub mode: WriteMode,
    /// Stored with the rows when the target commits checkpoints.
    pub checkpoint: Option<TargetCheckpoint>,
    pub max_attempts: u32,
    pub cancel: &'a CancellationToken,
    pub deadline: Option<Instant>,
    pub journal: &'a dyn RunJournal,
    /// For log events.
    pub batch: u64,
}

/// Why a batch write failed for good.
#[derive(Debug)]
pub(crate) enum WriteFailure {
    /// The last error, the attempts made, and whether a retry was refused as unsafe.
    Failed {
        error: ConnectorError,
        attempts: u32,
        unsafe_to_retry: bool,
    },
    /// The target asked to wait longer than [`MAX_RETRY_AFTER`] before a retry.
    WaitTooLong {
        error: ConnectorError,
        attempts: u32,
        asked: Duration,
    },
    /// Stopped while waiting to retry; the failed attempt is not applied (or is idempotent).
    Interrupted(Interrupted),
    /// The target broke the write contract (a connector bug).
    Contract(String),
}

impl WriteFailure {
    /// A message for the run result.
    pub(crate) fn message(&self, stream: &str) -> String {
        match self {
            Self::Failed {
                error,
                attempts,
                unsafe_to_retry,
            } => {
                let mut message =
                    format!("writing to `{stream}` failed after {attempts} attempt(s): {error}");
                if *unsafe_to_retry {
                    message.push_str(
                        " (not retried: an insert into a target that does not commit checkpoints \
                         atomically may have applied part of the batch; use upsert mode to make \
                         retries safe)",
                    );
                }
                message
            }
            Self::WaitTooLong {
                error,
                attempts,
                asked,
            } => format!(
                "writing to `{stream}` failed after {attempts} attempt(s): {error} (not retried: \
                 the target asked to wait {} s, more than the {} s a run waits; the next run \
                 resumes from the checkpoint)",
                asked.as_secs(),
                MAX_RETRY_AFTER.as_secs()
            ),
            Self::Interrupted(Interrupted::Cancelled) => {
                "cancelled while waiting to retry a batch".into()
            }
            Self::Interrupted(Interrupted::TimedOut) => {
                "the run deadline passed while waiting to retry a batch".into()
            }
            Self::Contract(reason) => reason.clone(),
        }
    }
}

impl BatchWrite<'_> {
    /// Whether a batch that failed as a whole may be written again without duplicating
    /// anything: idempotent modes, or a target whose failed transaction wrote nothing.
    pub(crate) fn retry_is_safe(&self) -> bool {
        self.mode.idempotent() || self.checkpoint.is_some()
    }

    /// Writes `batch`; each further attempt sends the same batch again (a clone shares
    /// its columns).
    pub(crate) async fn run(&self, batch: Batch) -> Result<WriteReport, WriteFailure> {
        let count = batch.len();
        let request = WriteRequest::new(self.stream, self.mode, batch)
            .with_checkpoint_option(self.checkpoint.clone());
        let mut attempt: u32 = 1;
        let max_attempts = self.max_attempts.max(1);
        loop {
            let result = if request.checkpoint.is_none() && count == 0 {
                Ok(WriteReport::default())
            } else {
                self.target.write(request.clone()).await
            };
            let error = match result {
                Ok(report) if report.outcomes.len() == count => return Ok(report),
                Ok(report) => {
                    return Err(WriteFailure::Contract(format!(
                        "the target reported {} outcomes for {count} records written to `{}`; \
                         the batch is not acknowledged",
                        report.outcomes.len(),
                        self.stream
                    )));
                }
                Err(error) => error,
            };
            let safe = self.retry_is_safe();
            if !error.retryable() || !safe || attempt >= max_attempts {
                return Err(WriteFailure::Failed {
                    unsafe_to_retry: error.retryable() && !safe,
                    error,
                    attempts: attempt,
                });
            }
            if let Some(asked) = error.retry_after().filter(|&asked| asked > MAX_RETRY_AFTER) {
                return Err(WriteFailure::WaitTooLong {
                    error,
                    attempts: attempt,
                    asked,
                });
            }
            let delay = backoff(attempt, error.retry_after());
            tracing::warn!(
                batch = self.batch,
                attempt,
                max_attempts,
                delay_ms = delay.as_millis() as u64,
                error = %error,
                "batch write failed; retrying"
            );
            self.journal
                .event(
                    EventLevel::Warn,
                    "batch write failed; retrying",
                    json!({
                        "batch": self.batch,
                        "attempt": attempt,
                        "max_attempts": max_attempts,
                        "delay_ms": delay.as_millis() as u64,
                        "error": error.to_string(),
                    }),
                )
                .await;
            crate::metrics::batch_retried();
            pause(delay, self.cancel, self.deadline)
                .await
                .map_err(WriteFailure::Interrupted)?;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_within_bounds_and_honours_retry_after() {
        for attempt in 1..=20 {
            let delay = backoff(attempt, None);
            let ceiling = BASE_DELAY
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(MAX_DELAY);
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "attempt {attempt}: {delay:?}"
            );
        }
        let asked = Duration::from_secs(7);
        assert!(backoff(1, Some(asked)) >= asked);
        // A remote system cannot make a run wait longer than the cap.
        assert!(backoff(1, Some(Duration::from_secs(u64::MAX))) <= MAX_RETRY_AFTER);
    }
}
