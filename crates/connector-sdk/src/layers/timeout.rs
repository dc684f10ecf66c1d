//! A deadline per operation, and per batch of a read.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::Value;

use crate::capability::Capabilities;
use crate::connector::{Connector, HealthReport, Layer, PreparedWrite, TargetCheckpoint};
use crate::error::{ConnectorError, Operation};
use crate::record::{Checkpoint, ReadRequest, Record, RecordBatchStream, WriteMode, WriteReport};
use crate::schema::Catalog;

/// The deadlines of [`TimeoutLayer`]. A timed-out operation fails with a
/// [transient](crate::ErrorKind::Transient) error (so an outer retry layer may retry it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutLayer {
    /// Deadline of `check`.
    pub check: Duration,
    /// Deadline of `discover`.
    pub discover: Duration,
    /// Deadline of opening a read and of producing each batch.
    pub read_batch: Duration,
    /// Deadline of one `write` call.
    pub write: Duration,
}

impl Default for TimeoutLayer {
    fn default() -> Self {
        Self {
            check: Duration::from_secs(30),
            discover: Duration::from_secs(120),
            read_batch: Duration::from_secs(120),
            write: Duration::from_secs(120),
        }
    }
}

impl TimeoutLayer {
    /// The same deadline for everything.
    pub fn uniform(deadline: Duration) -> Self {
        Self {
            check: deadline,
            discover: deadline,
            read_batch: deadline,
            write: deadline,
        }
    }
}

impl<C: Connector> Layer<C> for TimeoutLayer {
    type Output = Timeout<C>;

    fn layer(&self, inner: C) -> Timeout<C> {
        Timeout {
            inner,
            deadlines: *self,
        }
    }
}

/// A connector wrapped by [`TimeoutLayer`].
#[derive(Debug)]
pub struct Timeout<C> {
    inner: C,
    deadlines: TimeoutLayer,
}

fn timed_out(operation: Operation, deadline: Duration) -> ConnectorError {
    ConnectorError::transient(
        operation,
        format!("timed out after {:.3}s", deadline.as_secs_f64()),
    )
}

async fn within<T>(
    operation: Operation,
    deadline: Duration,
    future: impl Future<Output = Result<T, ConnectorError>>,
) -> Result<T, ConnectorError> {
    tokio::time::timeout(deadline, future)
        .await
        .unwrap_or_else(|_| Err(timed_out(operation, deadline)))
}

#[async_trait]
impl<C: Connector> Connector for Timeout<C> {
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
        let deadline = self.deadlines.check;
        match tokio::time::timeout(deadline, self.inner.check()).await {
            Ok(report) => report,
            Err(_) => HealthReport {
                latency: deadline,
                error: Some(timed_out(Operation::Check, deadline)),
            },
        }
    }

    async fn discover(&self) -> Result<Catalog, ConnectorError> {
        within(
            Operation::Discover,
            self.deadlines.discover,
            self.inner.discover(),
        )
        .await
    }

    async fn read(&self, request: ReadRequest) -> Result<RecordBatchStream, ConnectorError> {
        let deadline = self.deadlines.read_batch;
        let stream_name = request.stream.clone();
        let inner = within(Operation::Read, deadline, self.inner.read(request))
            .await
            .map_err(|e| e.with_stream(stream_name.clone()))?;
        let batches = futures::stream::unfold(Some(inner), move |state| {
            let stream_name = stream_name.clone();
            async move {
                let mut inner = state?;
                match tokio::time::timeout(deadline, inner.next()).await {
                    Ok(Some(item)) => Some((item, Some(inner))),
                    Ok(None) => None,
                    // The stream ends after a timeout: the consumer resumes from its last
                    // committed checkpoint.
                    Err(_) => Some((
                        Err(timed_out(Operation::Read, deadline).with_stream(stream_name)),
                        None,
                    )),
                }
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
        within(
            Operation::Write,
            self.deadlines.write,
            self.inner.write(stream, mode, records),
        )
        .await
        .map_err(|e| e.with_stream(stream))
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
        within(
            Operation::Write,
            self.deadlines.write,
            self.inner
                .write_with_checkpoint(stream, mode, records, checkpoint),
        )
        .await
        .map_err(|e| e.with_stream(stream))
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
        within(
            Operation::Write,
            self.deadlines.write,
            self.inner.write_prepared(stream, mode, batch, checkpoint),
        )
        .await
        .map_err(|e| e.with_stream(stream))
    }
}
