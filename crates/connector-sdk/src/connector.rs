//! The trait family a connector implements: [`Connector`] (the connection) and
//! [`ConnectorFactory`] (config -> connection), plus [`Layer`] for cross-cutting behaviour.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::capability::Capabilities;
use crate::error::{ConnectorError, Operation};
use crate::record::{Checkpoint, ReadRequest, Record, RecordBatchStream, WriteMode, WriteReport};
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
/// key naming the flow (see [`Connector::write_with_checkpoint`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetCheckpoint {
    /// Whose checkpoint this is, e.g. a flow id.
    pub key: String,
    /// The state reached once the batch is written.
    pub checkpoint: Checkpoint,
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
    /// is stored when the batch is (rejects included, since they are dead-lettered).
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

    /// Builds a connector from `config`. Secret references in it are resolved through
    /// `secrets` when the connector needs them (not stored resolved).
    async fn build(
        &self,
        config: Value,
        secrets: Arc<dyn SecretSource>,
    ) -> Result<Arc<dyn Connector>, ConnectorError>;
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
