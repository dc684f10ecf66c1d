//! Cross-cutting behaviour as layers wrapping any [`crate::Connector`].
//!
//! Compose with [`crate::ConnectorExt::layer`]; the last layer added is the outermost.
//! A sensible order, inner to outer: rate limit, timeout, retry, observe — each attempt is
//! rate limited and bounded, retries see timeouts as transient errors, and metrics show
//! what the caller got.

pub mod observe;
pub mod rate_limit;
pub mod retry;
pub mod timeout;

pub use observe::{Observe, ObserveLayer};
pub use rate_limit::{RateLimit, RateLimitLayer, TokenBucket};
pub use retry::{Retry, RetryLayer, RetryPolicy};
pub use timeout::{Timeout, TimeoutLayer};

use std::sync::Arc;

use crate::connector::{Connector, ConnectorExt as _};

/// The layers every connector runs in, built once by the registry: rate limit (when the
/// connector has one), timeout, retry and observe, inner to outer. The same stack wraps
/// every connector type; a connector only tunes its settings ([`Connector::layers`]).
#[derive(Debug, Clone, Default)]
pub struct LayerStack {
    /// Operations per second and burst, when the remote system needs a client-side limit.
    pub rate_limit: Option<(f64, u32)>,
    /// Deadlines per operation.
    pub timeouts: TimeoutLayer,
    /// Retries of whole operations (writes only where retrying cannot duplicate data).
    pub retry: RetryLayer,
}

impl LayerStack {
    /// The same stack with `timeouts`.
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: TimeoutLayer) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The same stack with a rate limit of `per_second` and `burst`.
    #[must_use]
    pub fn with_rate_limit(mut self, per_second: f64, burst: u32) -> Self {
        self.rate_limit = Some((per_second, burst));
        self
    }

    /// The same stack with `retry`.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryLayer) -> Self {
        self.retry = retry;
        self
    }

    /// Wraps `connector` in the stack.
    pub fn wrap(&self, connector: Arc<dyn Connector>) -> Arc<dyn Connector> {
        let limited: Arc<dyn Connector> = match self.rate_limit {
            Some((per_second, burst)) => connector
                .layer(RateLimitLayer::new(per_second, burst))
                .into_dyn(),
            None => connector,
        };
        limited
            .layer(self.timeouts)
            .layer(self.retry.clone())
            .layer(ObserveLayer::new())
            .into_dyn()
    }
}
