//! Client-side rate limiting: a [`TokenBucket`] and the [`RateLimitLayer`] that makes every
//! operation (and every read batch) take a token first.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::capability::Capabilities;
use crate::connector::{Connector, HealthReport, Layer, PreparedWrite, TargetCheckpoint};
use crate::error::ConnectorError;
use crate::record::{Checkpoint, ReadRequest, Record, RecordBatchStream, WriteMode, WriteReport};
use crate::schema::Catalog;

/// A token bucket: up to `burst` requests at once, then `per_second` on average.
///
/// [`TokenBucket::acquire`] waits asynchronously. Waiters reserve their token before they
/// sleep, so they are served in arrival order and the rate holds under concurrency.
/// Connectors making several HTTP requests per batch call `acquire` per request on a
/// shared bucket ([`RateLimitLayer::bucket`]).
#[derive(Debug)]
pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    /// Available tokens; negative when waiters have reserved tokens not yet refilled.
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    /// A bucket refilled at `per_second` tokens per second holding at most `burst` tokens
    /// (a rate that is not positive is treated as almost zero, a burst of 0 as 1), starting full.
    pub fn new(per_second: f64, burst: u32) -> Self {
        let per_second = if per_second.is_finite() && per_second > 0.0 {
            per_second
        } else {
            1e-9
        };
        let burst = f64::from(burst.max(1));
        Self {
            per_second,
            burst,
            state: Mutex::new(BucketState {
                tokens: burst,
                refilled_at: Instant::now(),
            }),
        }
    }

    /// Takes one token, waiting until one is available.
    pub async fn acquire(&self) {
        let wait = {
            let mut state = self.state.lock().await;
            let now = Instant::now();
            let refill = now.duration_since(state.refilled_at).as_secs_f64() * self.per_second;
            state.tokens = (state.tokens + refill).min(self.burst);
            state.refilled_at = now;
            state.tokens -= 1.0;
            if state.tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64((-state.tokens) / self.per_second)
            }
        };
        if !wait.is_zero() {
            tracing::debug!(
                wait_seconds = wait.as_secs_f64(),
                "rate limit: waiting for a token"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

/// Makes each operation of the wrapped connector, and each batch of a read, take a token
/// from a shared [`TokenBucket`] first.
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    bucket: Arc<TokenBucket>,
}

impl RateLimitLayer {
    /// `per_second` operations per second on average, bursts of up to `burst`.
    pub fn new(per_second: f64, burst: u32) -> Self {
        Self {
            bucket: Arc::new(TokenBucket::new(per_second, burst)),
        }
    }

    /// The bucket, to share with the connector's own request loop.
    pub fn bucket(&self) -> Arc<TokenBucket> {
        self.bucket.clone()
    }
}

impl<C: Connector> Layer<C> for RateLimitLayer {
    type Output = RateLimit<C>;

    fn layer(&self, inner: C) -> RateLimit<C> {
        RateLimit {
            inner,
            bucket: self.bucket.clone(),
        }
    }
}

/// A connector wrapped by [`RateLimitLayer`].
#[derive(Debug)]
pub struct RateLimit<C> {
    inner: C,
    bucket: Arc<TokenBucket>,
}

#[async_trait]
impl<C: Connector> Connector for RateLimit<C> {
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
        self.bucket.acquire().await;
        self.inner.check().await
    }

    async fn discover(&self) -> Result<Catalog, ConnectorError> {
        self.bucket.acquire().await;
        self.inner.discover().await
    }

    async fn read(&self, request: ReadRequest) -> Result<RecordBatchStream, ConnectorError> {
        // Opening the read fetches nothing by itself in most connectors; each batch takes
        // a token when it is pulled.
        let inner = self.inner.read(request).await?;
        let bucket = self.bucket.clone();
        let batches = futures::stream::unfold(inner, move |mut inner| {
            let bucket = bucket.clone();
            async move {
                bucket.acquire().await;
                let item = inner.next().await?;
                Some((item, inner))
            }
        });
        Ok(batches.boxed())
    }

    async fn write(
        &self,
        stream: &str,
        mode: WriteMode,
        records: Vec<Record>,
    ) -> Result<WriteReport, ConnectorError> {
        self.bucket.acquire().await;
        self.inner.write(stream, mode, records).await
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
        self.bucket.acquire().await;
        self.inner
            .write_with_checkpoint(stream, mode, records, checkpoint)
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
        self.bucket.acquire().await;
        self.inner
            .write_prepared(stream, mode, batch, checkpoint)
            .await
    }
}
