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
