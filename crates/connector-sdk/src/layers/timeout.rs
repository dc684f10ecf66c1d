//! A deadline per operation, and per batch of a read.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;

use crate::connector::{Connector, HealthReport, Layer, LayeredConnector, WriteRequest};
use crate::error::{ConnectorError, Operation};
use crate::record::{ReadRequest, ReadStream, WriteReport};
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
impl<C: Connector> LayeredConnector for Timeout<C> {
    type Inner = C;

    fn inner(&self) -> &C {
        &self.inner
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

    async fn read(&self, request: ReadRequest) -> Result<ReadStream, ConnectorError> {
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

    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        let stream = request.stream.clone();
        within(
            Operation::Write,
            self.deadlines.write,
            self.inner.write(request),
        )
        .await
        .map_err(|e| e.with_stream(stream))
    }
}
