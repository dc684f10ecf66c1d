//! # grimOS Connector SDK
//!
//! Everything a connector crate needs to talk to one kind of external system, and nothing
//! about the engine that runs it (no storage, no HTTP server, no flows).
//!
//! - [`Connector`] — the trait a connection implements: `spec`, `check`, `discover`,
//!   `read` (a pulled stream of [`ReadBatch`]es, each with the [`Checkpoint`] reached),
//!   `write` (one [`WriteRequest`], one [`RecordOutcome`] per record); [`ConnectorFactory`]
//!   builds one from a configuration; [`Capabilities`] says what it supports.
//! - [`Batch`] — the records of a stream as typed Arrow columns, with their JSON view.
//! - [`ConnectorError`] — the one error type, with an [`ErrorKind`] and `retryable()`.
//! - [`schema`] — the common type model ([`FieldType`]) and the [`Catalog`].
//! - [`layers`] — retry, timeout, rate limit, tracing + metrics, wrapping any connector;
//!   [`RetryPolicy`] and [`paged_stream`] retry reads page by page.
//! - [`auth`] — API key, bearer, basic and OAuth2 client credentials for `reqwest`.
//! - [`secret`] — [`Secret`] (never printed) and the [`SecretSource`] port.
//! - `testkit` (feature `testkit`) — the behaviour suite every connector passes.
//!
//! See `docs/connectors/writing-a-connector.md`.

pub mod auth;
pub mod batch;
pub mod capability;
pub mod clock;
pub mod connector;
pub mod error;
pub mod layers;
pub mod pagination;
pub mod record;
pub mod schema;
pub mod secret;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod text;

pub use batch::Batch;
pub use capability::{Capabilities, WriteCapabilities};
pub use clock::{Clock, ManualClock, SystemClock};
pub use connector::{
    BuildContext, CommitHook, Connector, ConnectorExt, ConnectorFactory, HealthReport, Layer,
    LayeredConnector, PlatformDatabase, TargetCheckpoint, WriteRequest,
};
pub use error::{ConnectorError, ErrorKind, Operation};
pub use layers::{
    LayerStack, ObserveLayer, RateLimitLayer, RetryLayer, RetryPolicy, TimeoutLayer, TokenBucket,
};
pub use pagination::{Page, paged_stream};
pub use record::{
    Checkpoint, ReadBatch, ReadRequest, ReadStream, Record, RecordOutcome, WriteMode, WriteReport,
};
pub use schema::{Catalog, Field, FieldType, StreamDescriptor};
pub use secret::{EnvFileSecretSource, SchemeSecretSource, Secret, SecretSource};
/// The Arrow crates batches are made of, for connectors and engines to build and read them.
pub use {arrow_array, arrow_schema};
