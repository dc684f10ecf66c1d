//! The trait family a connector implements: [`Connector`] (the connection) and
//! [`ConnectorFactory`] (config -> connection), plus [`Layer`] for cross-cutting behaviour.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::batch::Batch;
use crate::capability::Capabilities;
use crate::error::{ConnectorError, Operation};
use crate::record::{
    Checkpoint, ReadRequest, ReadStream, Record, RecordOutcome, WriteMode, WriteReport,
};
use crate::schema::Catalog;
use crate::secret::SecretSource;

/// Result of a health check.
#[derive(Debug, Clone)]
pub struct HealthReport {
    /// How long the check took.
    pub latency: Duration,
    /// Why the check failed; `None` when healthy.
    pub error: Option<ConnectorError>,
}

impl HealthReport {
    /// Runs `probe` and reports its outcome and latency. The usual body of
    /// [`Connector::check`]: `HealthReport::measure(async { ... }).await`.
    pub async fn measure<F>(probe: F) -> Self
    where
        F: Future<Output = Result<(), ConnectorError>>,
    {
        let started = tokio::time::Instant::now();
        let result = probe.await;
        Self {
            latency: started.elapsed(),
            error: result.err(),
        }
    }

    /// Whether the connection is healthy.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

/// A checkpoint to commit in the same transaction as the batch written with it, under a
/// key naming the flow (see [`WriteRequest::checkpoint`]), and the hook the target
/// calls with the batch's outcomes before that commit.
#[derive(Clone)]
pub struct TargetCheckpoint {
    /// Whose checkpoint this is, e.g. a flow id.
    pub key: String,
    /// The state reached once the batch is written.
    pub checkpoint: Checkpoint,
    /// Called by the target with the batch's outcomes once its rows are written and before
    /// they commit with the checkpoint ([`TargetCheckpoint::before_commit`]).
    pub hook: Option<Arc<dyn CommitHook>>,
}

impl TargetCheckpoint {
    /// `checkpoint` under `key`, without a hook.
    pub fn new(key: impl Into<String>, checkpoint: Checkpoint) -> Self {
        Self {
            key: key.into(),
            checkpoint,
            hook: None,
        }
    }

    /// The same checkpoint with `hook` called before the commit.
    #[must_use]
    pub fn with_hook(mut self, hook: Arc<dyn CommitHook>) -> Self {
        self.hook = Some(hook);
        self
    }

    /// What a target that commits checkpoints calls once the batch's rows are written and
    /// before it commits them with the checkpoint, with one outcome per record. An error
    /// means: do not commit — roll the batch back and return the error.
    pub async fn before_commit(&self, outcomes: &[RecordOutcome]) -> Result<(), ConnectorError> {
        match &self.hook {
            Some(hook) => hook.before_commit(outcomes).await,
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for TargetCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetCheckpoint")
            .field("key", &self.key)
            .field("checkpoint", &self.checkpoint)
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

impl PartialEq for TargetCheckpoint {
    fn eq(&self, other: &Self) -> bool {
        let same_hook = match (&self.hook, &other.hook) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        self.key == other.key && self.checkpoint == other.checkpoint && same_hook
    }
}

/// Called by a target that commits checkpoints ([`crate::WriteCapabilities::checkpoint`]) inside
/// the batch's transaction: after its rows are written, before they commit with the
/// checkpoint. The flow engine stores the batch's rejects here, so that they are durable
/// before the checkpoint passes them — a crash after the commit loses none.
#[async_trait]
pub trait CommitHook: Send + Sync {
    /// Receives one outcome per record of the batch (called again if the write is retried).
    /// An error aborts the commit: the target rolls the batch back and returns the error.
    async fn before_commit(&self, outcomes: &[RecordOutcome]) -> Result<(), ConnectorError>;
}

/// One write: a batch of records to apply to `stream` in `mode`, with the checkpoint to
/// commit in the same transaction when the target keeps checkpoints
/// ([`crate::WriteCapabilities::checkpoint`]).
///
/// Cloning is cheap (the batch's columns are shared), so a retry always has the whole
/// request it was given.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteRequest {
    /// The stream (table, endpoint) to write.
    pub stream: String,
    /// How the records apply.
    pub mode: WriteMode,
    /// The records, as Arrow columns.
    pub batch: Batch,
    /// Stored in the batch's transaction, so the target never holds rows beyond its
    /// checkpoint or a checkpoint beyond its rows. A target without
    /// [`crate::WriteCapabilities::checkpoint`] refuses a request that carries one.
    pub checkpoint: Option<TargetCheckpoint>,
}

impl WriteRequest {
    /// Writes `batch` (Arrow columns, or JSON records typed by [`Batch::from_records`]) to
    /// `stream` in `mode`.
    pub fn new(stream: impl Into<String>, mode: WriteMode, batch: impl Into<Batch>) -> Self {
        Self {
            stream: stream.into(),
            mode,
            batch: batch.into(),
            checkpoint: None,
        }
    }

    /// The same write with `checkpoint` committed with it.
    #[must_use]
    pub fn with_checkpoint(mut self, checkpoint: TargetCheckpoint) -> Self {
        self.checkpoint = Some(checkpoint);
        self
    }

    /// The same write with `checkpoint`, when there is one.
    #[must_use]
    pub fn with_checkpoint_option(mut self, checkpoint: Option<TargetCheckpoint>) -> Self {
        self.checkpoint = checkpoint;
        self
    }

    /// How many records the write carries.
    pub fn len(&self) -> usize {
        self.batch.len()
    }

    /// Whether the write carries no record.
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// The error of a connector that cannot write this request.
    pub fn unsupported(&self, reason: impl Into<String>) -> ConnectorError {
        ConnectorError::unsupported(Operation::Write, reason).with_stream(self.stream.clone())
    }
}

/// A live connection to one external system, built from one configuration.
///
/// Object safe: the engine holds connectors as `Arc<dyn Connector>`. Every method is
/// cancel-safe to drop. None may panic on any input: bad input is a [`ConnectorError`] or
/// a rejected record.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The connector type (`rest`, `postgres`, ...), used in metric labels and logs.
    fn connector_type(&self) -> &str;

    /// What this connector supports.
    fn capabilities(&self) -> Capabilities;

    /// The JSON Schema of the configuration, secret fields marked `"x-secret": true`
    /// (their values in a configuration are secret *references*, never secrets).
    fn spec(&self) -> Value;

    /// Checks that the system is reachable and the credentials work.
    async fn check(&self) -> HealthReport;

    /// Lists the streams with their fields, keys and cursor candidates.
    async fn discover(&self) -> Result<Catalog, ConnectorError> {
        Err(ConnectorError::unsupported(
            Operation::Discover,
            "this connector cannot discover streams",
        ))
    }

    /// Reads a stream, from `request.checkpoint` on when given. Errors opening the read
    /// come back here; errors during it as an `Err` item of the stream (which then ends).
    async fn read(&self, request: ReadRequest) -> Result<ReadStream, ConnectorError> {
        Err(
            ConnectorError::unsupported(Operation::Read, "this connector cannot read")
                .with_stream(request.stream),
        )
    }

    /// Applies `request.batch` to `request.stream` in `request.mode`, with
    /// `request.checkpoint` in the same transaction when given, and reports one outcome per
    /// record, in order. Records the target refuses are reported per record (they go to
    /// the dead letters); a failure of the whole batch is an error, and then nothing of the
    /// batch is committed where the target has transactions.
    ///
    /// With a checkpoint, the outcomes go to [`TargetCheckpoint::before_commit`] once the
    /// rows are written and before they commit; when it fails, nothing is committed and
    /// its error is returned.
    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        let mode = request.mode;
        Err(request.unsupported(format!("this connector cannot {mode}")))
    }

    /// The checkpoint stored with a write under `key` ([`TargetCheckpoint::key`]), if any.
    async fn load_checkpoint(&self, key: &str) -> Result<Option<Checkpoint>, ConnectorError> {
        let _ = key;
        Ok(None)
    }

    /// The settings of the layers the registry wraps this connector in (the stack itself
    /// is the same for every connector): a configured rate limit, say. The default stack
    /// suits most connectors.
    fn layers(&self) -> crate::layers::LayerStack {
        crate::layers::LayerStack::default()
    }
}

/// Builds connectors of one type from configurations (`Config -> Builder -> Connector`).
///
/// The registry keeps one factory per connector type: the UI shows [`Self::spec`] before
/// any connection exists, and [`Self::build`] validates a configuration and connects.
#[async_trait]
pub trait ConnectorFactory: Send + Sync {
    /// The connector type this factory builds.
    fn connector_type(&self) -> &str;

    /// The JSON Schema of the configuration (as [`Connector::spec`]).
    fn spec(&self) -> Value;

    /// Builds a connector from `config` with what `context` lends it: secret references
    /// are resolved through `context.secrets` when the connector needs them (not stored
    /// resolved), every outbound connection is checked against `context.egress`, and the
    /// platform's own database stays off limits.
    async fn build(
        &self,
        config: Value,
        context: &BuildContext,
    ) -> Result<Arc<dyn Connector>, ConnectorError>;
}

/// What the platform lends a connector it builds: capabilities exercised on behalf of the
/// caller, never with the server's own authority.
///
/// - `secrets` resolves only the references the acting principal may use (the platform
///   passes a source scoped to that principal).
/// - `egress` says where the connector may connect (checked on resolved addresses).
/// - `platform_database` identifies the server's own database, which no connector opens.
#[derive(Clone)]
pub struct BuildContext {
    /// Resolves secret references on behalf of the acting principal.
    pub secrets: Arc<dyn SecretSource>,
    /// Where outbound connections may go.
    pub egress: egress::EgressPolicy,
    /// The platform's own database, refused as a connector target.
    pub platform_database: Option<PlatformDatabase>,
}

impl BuildContext {
    /// A context over `secrets` with the default egress policy and no platform database
    /// (command-line tools and tests).
    pub fn new(secrets: Arc<dyn SecretSource>) -> Self {
        Self {
            secrets,
            egress: egress::EgressPolicy::default(),
            platform_database: None,
        }
    }

    /// The same context with `egress` as the egress policy.
    #[must_use]
    pub fn with_egress(mut self, egress: egress::EgressPolicy) -> Self {
        self.egress = egress;
        self
    }

    /// The same context with the platform's own database marked off limits.
    #[must_use]
    pub fn with_platform_database(mut self, database: PlatformDatabase) -> Self {
        self.platform_database = Some(database);
        self
    }
}

impl std::fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildContext")
            .field("egress", &self.egress)
            .field("platform_database", &self.platform_database)
            .finish_non_exhaustive()
    }
}

/// The identity of the platform's own database, so a SQL connector can refuse to open it
/// whatever name, path or address it is reached by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformDatabase {
    /// The random id stored in the platform database's `grimos_instance` table.
    pub instance_id: String,
    /// The SQLite file, when the platform runs on SQLite (canonical path).
    pub sqlite_file: Option<std::path::PathBuf>,
}

#[async_trait]
impl<T: Connector + ?Sized> Connector for Arc<T> {
    fn connector_type(&self) -> &str {
        (**self).connector_type()
    }
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    fn spec(&self) -> Value {
        (**self).spec()
    }
    async fn check(&self) -> HealthReport {
        (**self).check().await
    }
    async fn discover(&self) -> Result<Catalog, ConnectorError> {
        (**self).discover().await
    }
    async fn read(&self, request: ReadRequest) -> Result<ReadStream, ConnectorError> {
        (**self).read(request).await
    }
    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        (**self).write(request).await
    }
    async fn load_checkpoint(&self, key: &str) -> Result<Option<Checkpoint>, ConnectorError> {
        (**self).load_checkpoint(key).await
    }
    fn layers(&self) -> crate::layers::LayerStack {
        (**self).layers()
    }
}

/// The base of a layer: a connector that wraps another ([`LayeredConnector::inner`]) and
/// changes only some of its operations. Every method forwards to the inner connector
/// unless the layer overrides it, and every `LayeredConnector` is a [`Connector`] — so a
/// layer writes only what it changes (OpenDAL's `LayeredAccess`).
#[async_trait]
pub trait LayeredConnector: Send + Sync {
    /// The wrapped connector.
    type Inner: Connector;

    /// The wrapped connector.
    fn inner(&self) -> &Self::Inner;

    /// As [`Connector::connector_type`].
    fn connector_type(&self) -> &str {
        self.inner().connector_type()
    }
    /// As [`Connector::capabilities`].
    fn capabilities(&self) -> Capabilities {
        self.inner().capabilities()
    }
    /// As [`Connector::spec`].
    fn spec(&self) -> Value {
        self.inner().spec()
    }
    /// As [`Connector::check`].
    async fn check(&self) -> HealthReport {
        self.inner().check().await
    }
    /// As [`Connector::discover`].
    async fn discover(&self) -> Result<Catalog, ConnectorError> {
        self.inner().discover().await
    }
    /// As [`Connector::read`].
    async fn read(&self, request: ReadRequest) -> Result<ReadStream, ConnectorError> {
        self.inner().read(request).await
    }
    /// As [`Connector::write`].
    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        self.inner().write(request).await
    }
    /// As [`Connector::load_checkpoint`].
    async fn load_checkpoint(&self, key: &str) -> Result<Option<Checkpoint>, ConnectorError> {
        self.inner().load_checkpoint(key).await
    }
    /// As [`Connector::layers`].
    fn layers(&self) -> crate::layers::LayerStack {
        self.inner().layers()
    }
}

#[async_trait]
impl<L: LayeredConnector> Connector for L {
    fn connector_type(&self) -> &str {
        LayeredConnector::connector_type(self)
    }
    fn capabilities(&self) -> Capabilities {
        LayeredConnector::capabilities(self)
    }
    fn spec(&self) -> Value {
        LayeredConnector::spec(self)
    }
    async fn check(&self) -> HealthReport {
        LayeredConnector::check(self).await
    }
    async fn discover(&self) -> Result<Catalog, ConnectorError> {
        LayeredConnector::discover(self).await
    }
    async fn read(&self, request: ReadRequest) -> Result<ReadStream, ConnectorError> {
        LayeredConnector::read(self, request).await
    }
    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        LayeredConnector::write(self, request).await
    }
    async fn load_checkpoint(&self, key: &str) -> Result<Option<Checkpoint>, ConnectorError> {
        LayeredConnector::load_checkpoint(self, key).await
    }
    fn layers(&self) -> crate::layers::LayerStack {
        LayeredConnector::layers(self)
    }
}

/// Cross-cutting behaviour that wraps any connector (OpenDAL's layer idea).
///
/// ```ignore
/// let connector = MyConnector::new(config)
///     .layer(TimeoutLayer::default())
///     .layer(RetryLayer::new(RetryPolicy::default()))
///     .layer(ObserveLayer::new());
/// ```
/// The last layer added is the outermost.
pub trait Layer<C: Connector> {
    /// The wrapped connector.
    type Output: Connector;

    /// Wraps `inner`.
    fn layer(&self, inner: C) -> Self::Output;
}

/// Adds [`ConnectorExt::layer`], [`ConnectorExt::write_records`] and
/// [`ConnectorExt::into_dyn`] to every connector.
pub trait ConnectorExt: Connector {
    /// Wraps this connector in `layer`.
    fn layer<L: Layer<Self>>(self, layer: L) -> L::Output
    where
        Self: Sized,
    {
        layer.layer(self)
    }

    /// Writes JSON `records` (typed by [`Batch::from_records`]) to `stream` in `mode`
    /// without a checkpoint: [`Connector::write`] for command-line tools and tests.
    fn write_records<'a>(
        &'a self,
        stream: &str,
        mode: WriteMode,
        records: Vec<Record>,
    ) -> futures::future::BoxFuture<'a, Result<WriteReport, ConnectorError>> {
        self.write(WriteRequest::new(stream, mode, records))
    }

    /// Boxes this connector for the registry.
    fn into_dyn(self) -> Arc<dyn Connector>
    where
        Self: Sized + 'static,
    {
        Arc::new(self)
    }
}

impl<C: Connector + ?Sized> ConnectorExt for C {}
