//! Tracing spans and metrics for every operation of any connector.
//!
//! Metrics (through the `metrics` facade, so whichever exporter the binary installs):
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `connector_requests_total` | counter | `connector_type`, `operation` |
//! | `connector_errors_total` | counter | `connector_type`, `operation`, `kind` |
//! | `connector_operation_duration_seconds` | histogram | `connector_type`, `operation` |
//! | `connector_records_read_total` | counter | `connector_type` |
//! | `connector_records_written_total` | counter | `connector_type`, `mode` |
//! | `connector_records_rejected_total` | counter | `connector_type`, `mode`, `kind` |
//!
//! `operation` is `check`, `discover`, `read` (opening a read), `read_batch` (producing one
//! batch) or `write`. [`crate::RetryPolicy`] adds `connector_retries_total`.

use async_trait::async_trait;
use futures::StreamExt;
use tokio::time::Instant;
use tracing::Instrument;

use crate::connector::{Connector, HealthReport, Layer, LayeredConnector, WriteRequest};
use crate::error::{ConnectorError, Operation};
use crate::record::{ReadRequest, ReadStream, RecordOutcome, WriteMode, WriteReport};
use crate::schema::Catalog;

/// Adds a tracing span and metrics to every operation. Put it outermost so it sees what the
/// caller sees (after retries and timeouts).
///
/// It also guards the write contract: a report whose outcome count differs from the number
/// of records given becomes a [`crate::ErrorKind::Data`] error, so a connector bug cannot
/// drop records silently.
#[derive(Debug, Clone, Copy, Default)]
pub struct ObserveLayer;

impl ObserveLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

impl<C: Connector> Layer<C> for ObserveLayer {
    type Output = Observe<C>;

    fn layer(&self, inner: C) -> Observe<C> {
        Observe { inner }
    }
}

/// A connector wrapped by [`ObserveLayer`].
#[derive(Debug)]
pub struct Observe<C> {
    inner: C,
}

/// Records one finished request.
fn record_request(
    connector_type: &str,
    operation: &'static str,
    started: Instant,
    error: Option<&ConnectorError>,
) {
    let connector_type = connector_type.to_owned();
    metrics::counter!(
        "connector_requests_total",
        "connector_type" => connector_type.clone(),
        "operation" => operation
    )
    .increment(1);
    metrics::histogram!(
        "connector_operation_duration_seconds",
        "connector_type" => connector_type.clone(),
        "operation" => operation
    )
    .record(started.elapsed().as_secs_f64());
    if let Some(err) = error {
        metrics::counter!(
            "connector_errors_total",
            "connector_type" => connector_type,
            "operation" => operation,
            "kind" => err.kind().as_str()
        )
        .increment(1);
        tracing::warn!(
            operation,
            error.kind = err.kind().as_str(),
            error = %err,
            "connector operation failed"
        );
    }
}

fn span(connector_type: &str, operation: Operation, stream: Option<&str>) -> tracing::Span {
    tracing::info_span!(
        "connector",
        connector.type = connector_type,
        connector.operation = operation.as_str(),
        connector.stream = stream,
    )
}

#[async_trait]
impl<C: Connector> LayeredConnector for Observe<C> {
    type Inner = C;

    fn inner(&self) -> &C {
        &self.inner
    }

    async fn check(&self) -> HealthReport {
        let connector_type = LayeredConnector::connector_type(self);
        let started = Instant::now();
        let report = self
            .inner
            .check()
            .instrument(span(connector_type, Operation::Check, None))
            .await;
        record_request(connector_type, "check", started, report.error.as_ref());
        report
    }

    async fn discover(&self) -> Result<Catalog, ConnectorError> {
        let connector_type = LayeredConnector::connector_type(self);
        let started = Instant::now();
        let result = self
            .inner
            .discover()
            .instrument(span(connector_type, Operation::Discover, None))
            .await;
        record_request(connector_type, "discover", started, result.as_ref().err());
        result
    }

    async fn read(&self, request: ReadRequest) -> Result<ReadStream, ConnectorError> {
        let connector_type = LayeredConnector::connector_type(self).to_owned();
        let span = span(&connector_type, Operation::Read, Some(&request.stream));
        let started = Instant::now();
        let result = self.inner.read(request).instrument(span.clone()).await;
        record_request(&connector_type, "read", started, result.as_ref().err());
        let inner = result?;
        let batches = futures::stream::unfold(inner, move |mut inner| {
            let connector_type = connector_type.clone();
            let span = span.clone();
            async move {
                let started = Instant::now();
                let item = inner.next().instrument(span).await?;
                record_request(&connector_type, "read_batch", started, item.as_ref().err());
                if let Ok(batch) = &item {
                    metrics::counter!(
                        "connector_records_read_total",
                        "connector_type" => connector_type
                    )
                    .increment(batch.batch.len() as u64);
                }
                Some((item, inner))
            }
        });
        Ok(batches.boxed())
    }

    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        let connector_type = LayeredConnector::connector_type(self);
        let started = Instant::now();
        let given = request.len();
        let stream = request.stream.clone();
        let mode = request.mode;
        let result = self
            .inner
            .write(request)
            .instrument(span(connector_type, Operation::Write, Some(&stream)))
            .await;
        finish_write(connector_type, &stream, mode, given, started, result)
    }
}

/// Check that a write answered one outcome per record, and record its metrics.
fn finish_write(
    connector_type: &str,
    stream: &str,
    mode: WriteMode,
    given: usize,
    started: Instant,
    result: Result<WriteReport, ConnectorError>,
) -> Result<WriteReport, ConnectorError> {
    let result = result.and_then(|report| {
        if report.outcomes.len() == given {
            Ok(report)
        } else {
            Err(ConnectorError::data(
                Operation::Write,
                format!(
                    "connector returned {} outcomes for {given} records",
                    report.outcomes.len()
                ),
            )
            .with_stream(stream))
        }
    });
    record_request(connector_type, "write", started, result.as_ref().err());
    if let Ok(report) = &result {
        metrics::counter!(
            "connector_records_written_total",
            "connector_type" => connector_type.to_owned(),
            "mode" => mode.as_str()
        )
        .increment(report.ok_count() as u64);
        for outcome in &report.outcomes {
            if let RecordOutcome::Rejected { kind, .. } = outcome {
                metrics::counter!(
                    "connector_records_rejected_total",
                    "connector_type" => connector_type.to_owned(),
                    "mode" => mode.as_str(),
                    "kind" => kind.as_str()
                )
                .increment(1);
            }
        }
    }
    result
}
