//! The trait family a connector implements: [`Connector`] (the connection) and
//! [`ConnectorFactory`] (config -> connection), plus [`Layer`] for cross-cutting behaviour.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::capability::Capabilities;
use crate::error::{ConnectorError, Operation};
use crate::record::{
    Checkpoint, ReadRequest, Record, RecordBatchStream, RecordOutcome, WriteMode, WriteReport,
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
/// key naming the flow (see [`Connector::write_with_checkpoint`]), and the hook the target
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

/// Called by a target that commits checkpoints ([`Connector::commits_checkpoints`]) inside
/// the batch's transaction: after its rows are written, before they commit with the
/// checkpoint. The flow engine stores the batch's rejects here, so that they are durable
/// before the checkpoint passes them — a crash after the commit loses none.
#[async_trait]
pub trait CommitHook: Send + Sync {
    /// Receives one outcome per record of the batch (called again if the write is retried).
    /// An error aborts the commit: the target rolls the batch back and returns the error.
    async fn before_commit(&self, outcomes: &[RecordOutcome]) -> Result<(), ConnectorError>;
}

/// A batch of records a target made ready to write ahead of the write
/// ([`Connector::prepare_write`]): validated and encoded, say, so that an engine prepares
/// the next batch while the current one is being written.
pub struct PreparedWrite {
    records: Vec<Record>,
    len: usize,
    work: Option<Box<dyn Any + Send + Sync>>,
}

impl PreparedWrite {
    /// Records with nothing prepared: written as by [`Connector::write`].
    pub fn plain(records: Vec<Record>) -> Self {
        Self {
            len: records.len(),
            records,
            work: None,
        }
    }

    /// Records with what the connector prepared for them (opaque to everyone else).
    pub fn with_work(records: Vec<Record>, work: impl Any + Send + Sync) -> Self {
        Self {
            len: records.len(),
            records,
            work: Some(Box::new(work)),
        }
    }

    /// `len` records turned into `work` entirely (encoded, say): the records themselves
    /// were freed where they were prepared, and [`PreparedWrite::into_parts`] gives none.
    pub fn consumed(len: usize, work: impl Any + Send + Sync) -> Self {
        Self {
            records: Vec::new(),
            len,
            work: Some(Box::new(work)),
        }
    }

    /// How many records the batch holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The records and the prepared work, if it is a `T` (a batch prepared by another
    /// connector type yields `None`: the records are then written as they are).
    pub fn into_parts<T: Any>(self) -> (Vec<Record>, Option<Box<T>>) {
        let work = self.work.and_then(|work| work.downcast::<T>().ok());
        (self.records, work)
    }
}

impl std::fmt::Debug for PreparedWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedWrite")
            .field("records", &self.len)
            .field("prepared", &self.work.is_some())
            .finish()
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
    async fn read(&self, request: ReadRequest) -> Result<RecordBatchStream, ConnectorError> {
        Err(
            ConnectorError::unsupported(Operation::Read, "this connector cannot read")
                .with_stream(request.stream),
        )
    }

    /// Writes `records` to `stream` in `mode` and reports one outcome per record, in order.
    async fn write(
        &self,
        stream: &str,
        mode: WriteMode,
        records: Vec<Record>,
    ) -> Result<WriteReport, ConnectorError> {
        let _ = records;
        Err(
            ConnectorError::unsupported(Operation::Write, format!("this connector cannot {mode}"))
                .with_stream(stream),
        )
    }

    /// Whether [`Connector::write_with_checkpoint`] commits the checkpoint atomically with
    /// the written rows (a SQL target keeps it in a table of its own database).
    fn commits_checkpoints(&self) -> bool {
        false
    }

    /// Write a batch and store `checkpoint` in the same transaction, so that the target
    /// never holds rows beyond its checkpoint or a checkpoint beyond its rows. Records a
    /// target rejects are reported per record as with [`Connector::write`]; the checkpoint
    /// is stored when the batch is (rejects included, since they are dead-lettered). The
    /// outcomes go to [`TargetCheckpoint::before_commit`] before the commit; when it fails,
    /// nothing is committed and its error is returned.
    async fn write_with_checkpoint(
        &self,
        stream: &str,
        mode: WriteMode,
        records: Vec<Record>,
        checkpoint: TargetCheckpoint,
    ) -> Result<WriteReport, ConnectorError> {
        let _ = (records, checkpoint);
        Err(ConnectorError::unsupported(
            Operation::Write,
            format!("this connector cannot {mode} with a checkpoint"),
        )
        .with_stream(stream))
    }

    /// The checkpoint stored by [`Connector::write_with_checkpoint`] under `key`, if any.
    async fn load_checkpoint(&self, key: &str) -> Result<Option<Checkpoint>, ConnectorError> {
        let _ = key;
        Ok(None)
    }

    /// Does the CPU work of a write of `records` to `stream` in `mode` ahead of it
    /// (validating and encoding them) without writing anything, so that it overlaps the
    /// write of the batch before. The default prepares nothing.
    async fn prepare_write(
        &self,
        stream: &str,
        mode: WriteMode,
        records: Vec<Record>,
    ) -> Result<PreparedWrite, ConnectorError> {
        let _ = (stream, mode);
        Ok(PreparedWrite::plain(records))
    }

    /// Writes a batch from [`Connector::prepare_write`] (same stream and mode), with
    /// `checkpoint` in the same transaction when given: the outcomes are those of
    /// [`Connector::write`] or [`Connector::write_with_checkpoint`] on its records.
    async fn write_prepared(
        &self,
        stream: &str,
        mode: WriteMode,
        batch: PreparedWrite,
        checkpoint: Option<TargetCheckpoint>,
    ) -> Result<WriteReport, ConnectorError> {
        let (records, _) = batch.into_parts::<()>();
        write_records(self, stream, mode, records, checkpoint).await
    }
}

/// Writes `records` as they are: with [`Connector::write_with_checkpoint`] when a
/// checkpoint goes with them, else with [`Connector::write`].
pub async fn write_records<C: Connector + ?Sized>(
    connector: &C,
    stream: &str,
    mode: WriteMode,
    records: Vec<Record>,
    checkpoint: Option<TargetCheckpoint>,
) -> Result<WriteReport, ConnectorError> {
    match checkpoint {
        Some(checkpoint) => {
            connector
                .write_with_checkpoint(stream, mode, records, checkpoint)
                .await
        }
        None => connector.write(stream, mode, records).await,
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
    async fn read(&self, request: ReadRequest) -> Result<RecordBatchStream, ConnectorError> {
        (**self).read(request).await
    }
    async fn write(
        &self,
        stream: &str,
        mode: WriteMode,
        records: Vec<Record>,
    ) -> Result<WriteReport, ConnectorError> {
        (**self).write(stream, mode, records).await
    }
    fn commits_checkpoints(&self) -> bool {
        (**self).commits_checkpoints()
    }
    async fn write_with_checkpoint(
        &self,
        stream: &str,
        mode: WriteMode,
        records: Vec<Record>,
        checkpoint: TargetCheckpoint,
    ) -> Result<WriteReport, ConnectorError> {
        (**self)
            .write_with_checkpoint(stream, mode, records, checkpoint)
            .await
    }
    async fn load_checkpoint(&self, key: &str) -> Result<Option<Checkpoint>, ConnectorError> {
        (**self).load_checkpoint(key).await
    }

    async fn prepare_write(
        &self,
        stream: &str,
        mode: WriteMode,
        records: Vec<Record>,
    ) -> Result<PreparedWrite, ConnectorError> {
        (**self).prepare_write(stream, mode, records).await
    }

    async fn write_prepared(
        &self,
        stream: &str,
        mode: WriteMode,
        batch: PreparedWrite,
        checkpoint: Option<TargetCheckpoint>,
    ) -> Result<WriteReport, ConnectorError> {
        (**self)
            .write_prepared(stream, mode, batch, checkpoint)
            .await
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

/// Adds [`ConnectorExt::layer`] to every connector.
pub trait ConnectorExt: Connector + Sized {
    /// Wraps this connector in `layer`.
    fn layer<L: Layer<Self>>(self, layer: L) -> L::Output {
        layer.layer(self)
    }

    /// Boxes this connector for the registry.
    fn into_dyn(self) -> Arc<dyn Connector>
    where
        Self: 'static,
    {
        Arc::new(self)
    }
}

impl<C: Connector + Sized> ConnectorExt for C {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use serde_json::json;

    use super::*;

    fn records(n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| match json!({"id": i}) {
                Value::Object(record) => record,
                _ => unreachable!(),
            })
            .collect()
    }

    #[derive(Debug, PartialEq)]
    struct Encoded(usize);

    #[test]
    fn prepared_work_comes_back_only_as_the_type_it_was_made_of() {
        let (back, work) = PreparedWrite::with_work(records(3), Encoded(3)).into_parts::<Encoded>();
        assert_eq!(back.len(), 3);
        assert_eq!(work.map(|w| *w), Some(Encoded(3)));
        let (back, work) = PreparedWrite::with_work(records(2), Encoded(2)).into_parts::<String>();
        assert_eq!(back.len(), 2, "the records stay usable");
        assert!(work.is_none());
        let plain = PreparedWrite::plain(records(4));
        assert_eq!((plain.len(), plain.is_empty()), (4, false));
        assert!(plain.into_parts::<Encoded>().1.is_none());
    }

    #[test]
    fn a_consumed_batch_counts_its_records_but_gives_none_back() {
        let batch = PreparedWrite::consumed(5, Encoded(5));
        assert_eq!(batch.len(), 5);
        assert_eq!(
            format!("{batch:?}"),
            "PreparedWrite { records: 5, prepared: true }"
        );
        let (back, work) = batch.into_parts::<Encoded>();
        assert!(back.is_empty());
        assert_eq!(work.map(|w| *w), Some(Encoded(5)));
    }
}
