//! Client-side rate limiting: a [`TokenBucket`] and the [`RateLimitLayer`] that makes every
//! operation (and every read batch) take a token first.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::connector::{Connector, HealthReport, Layer, LayeredConnector, WriteRequest};
use crate::error::ConnectorError;
use crate::record::{ReadRequest, ReadStream, WriteReport};
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
impl<C: Connector> LayeredConnector for RateLimit<C> {
    type Inner = C;

    fn inner(&self) -> &C {
        &self.inner
    }

    async fn check(&self) -> HealthReport {
        self.bucket.acquire().await;
        self.inner.check().await
    }

    async fn discover(&self) -> Result<Catalog, ConnectorError> {
        self.bucket.acquire().await;
        self.inner.discover().await
    }

    async fn read(&self, request: ReadRequest) -> Result<ReadStream, ConnectorError> {
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

    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        self.bucket.acquire().await;
        self.inner.write(request).await
    }
}
