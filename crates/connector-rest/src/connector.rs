//! [`RestConnector`] (the SDK's `Connector` over a REST API) and [`RestConnectorFactory`].

use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::{
    BuildContext, Capabilities, Catalog, Connector, ConnectorError, ConnectorFactory, ErrorKind,
    HealthReport, LayerStack, Operation, ReadRequest, ReadStream, Record, RetryLayer, RetryPolicy,
    WriteCapabilities, WriteReport, WriteRequest,
};
use reqwest::Method;
use serde_json::Value;

use crate::compile::{CompiledStream, Plan, compile};
use crate::config::RestConfig;
use crate::incremental::Incremental;
use crate::paginator::{PageToken, Paginator};
use crate::read::{fetch_page, read_stream};
use crate::request::{Http, HttpSetup, Outgoing};
use crate::{discover, spec, write};

/// The connector type.
pub const CONNECTOR_TYPE: &str = "rest";

/// A connection to one REST API, built from a [`RestConfig`].
///
/// Build it with [`RestConnector::new`] or [`RestConnector::from_value`]; nothing is
/// resolved or sent until the first operation. The registry wraps it in the standard layer
/// stack with the settings of [`Connector::layers`].
#[derive(Debug)]
pub struct RestConnector {
    plan: Plan,
    http: Arc<Http>,
    streams: Vec<Arc<CompiledStream>>,
}

impl RestConnector {
    /// Checks `config` and prepares the connection with what `context` lends: secret
    /// references are resolved through `context.secrets` when a request first needs them
    /// (and again after a 401); every connection passes `context.egress` (for type
    /// `rest`), and a base or token URL at a denied literal address is refused here.
    pub fn new(config: &RestConfig, context: &BuildContext) -> Result<Self, ConnectorError> {
        let plan = compile(config)?;
        let http = Http::new(HttpSetup {
            base: plan.base.clone(),
            headers: plan.headers.clone(),
            auth: &plan.auth,
            secrets: context.secrets.clone(),
            egress: context.egress.scope(CONNECTOR_TYPE),
            timeout: plan.timeout,
            https_only: plan.https_only,
            ca_cert: config.ca_cert.as_deref(),
            max_response_bytes: plan.max_response_bytes,
        })?;
        let streams = plan.streams.iter().cloned().map(Arc::new).collect();
        Ok(Self {
            plan,
            http: Arc::new(http),
            streams,
        })
    }

    /// Parses a JSON (or YAML-as-JSON) configuration and prepares the connection.
    pub fn from_value(config: Value, context: &BuildContext) -> Result<Self, ConnectorError> {
        Self::new(&RestConfig::from_value(config)?, context)
    }

    fn stream(
        &self,
        name: &str,
        operation: Operation,
    ) -> Result<&Arc<CompiledStream>, ConnectorError> {
        self.streams.iter().find(|s| s.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.streams.iter().map(|s| s.name.as_str()).collect();
            ConnectorError::not_found(
                operation,
                format!("no stream `{name}` is configured (streams: {known:?})"),
            )
            .with_stream(name)
        })
    }

    fn policy(&self) -> RetryPolicy {
        self.plan.retry.clone()
    }

    /// The cheap request of `check`: the configured one, else the first stream's first
    /// page with the smallest page size the paginator allows.
    async fn probe(&self) -> Result<(), ConnectorError> {
        match &self.plan.check {
            Some(check) => {
                let url = self
                    .http
                    .url(&check.path)
                    .map_err(|e| ConnectorError::config(Operation::Check, e))?;
                let mut request = Outgoing::new(Method::GET, url);
                request.query = check.params.clone();
                let received = self.http.send(Operation::Check, &request).await?;
                if received.status.is_success() {
                    Ok(())
                } else {
                    Err(self.http.status_error(Operation::Check, &received, ""))
                }
            }
            None => {
                let stream = self.streams.first().ok_or_else(|| {
                    ConnectorError::config(Operation::Check, "no stream is configured")
                })?;
                let paginator = stream.paginator.smallest();
                let start = paginator.start();
                let since = stream.incremental.as_ref().and_then(|i| i.start.as_ref());
                fetch_page(&self.http, stream, &paginator, &start, since, 1, 0)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.with_operation(Operation::Check))
            }
        }
    }

    async fn sample(&self, stream: &CompiledStream) -> Result<Vec<Record>, ConnectorError> {
        let start: PageToken = stream.paginator.start();
        let paginator: &Paginator = &stream.paginator;
        let since = stream.incremental.as_ref().and_then(|i| i.start.as_ref());
        self.policy()
            .run(Operation::Discover, || async {
                fetch_page(&self.http, stream, paginator, &start, since, 1, 0)
                    .await
                    .map_err(|e| e.with_operation(Operation::Discover))
            })
            .await
            .map(|page| page.records)
    }
}

#[async_trait]
impl Connector for RestConnector {
    fn connector_type(&self) -> &str {
        CONNECTOR_TYPE
    }

    /// The standard stack with the configured rate limit (if any), and no whole-operation
    /// retries: the connector retries each HTTP request itself (page by page, record by
    /// record), which a retry of the whole operation would only multiply.
    fn layers(&self) -> LayerStack {
        let stack = LayerStack::default().with_retry(RetryLayer::new(RetryPolicy::none()));
        match self.plan.rate_limit {
            Some((per_second, burst)) => stack.with_rate_limit(per_second, burst),
            None => stack,
        }
    }

    fn capabilities(&self) -> Capabilities {
        let mut write = WriteCapabilities::NONE;
        for plan in self.streams.iter().filter_map(|s| s.write.as_ref()) {
            write.insert = true;
            write.upsert |= plan.upsert.is_some();
            write.update |= plan.update.is_some();
            write.delete |= plan.delete.is_some();
        }
        Capabilities {
            check: true,
            discover: true,
            read: true,
            incremental_read: self.streams.iter().any(|s| s.incremental.is_some()),
            write,
        }
    }

    fn spec(&self) -> Value {
        spec::config_schema()
    }

    async fn check(&self) -> HealthReport {
        HealthReport::measure(self.policy().run(Operation::Check, || self.probe())).await
    }

    async fn discover(&self) -> Result<Catalog, ConnectorError> {
        let mut streams = Vec::with_capacity(self.streams.len());
        for stream in &self.streams {
            let sample = self
                .sample(stream)
                .await
                .map_err(|e| e.with_stream(&stream.name))?;
            streams.push(discover::describe(stream, &sample));
        }
        Ok(Catalog::new(streams))
    }

    async fn read(&self, request: ReadRequest) -> Result<ReadStream, ConnectorError> {
        let stream = self.stream(&request.stream, Operation::Read)?.clone();
        let incremental = match (&stream.incremental, &request.cursor_field) {
            (Some(plan), Some(asked)) if *asked != plan.cursor_field => {
                return Err(ConnectorError::new(
                    ErrorKind::Unsupported,
                    Operation::Read,
                    format!(
                        "the stream reads incrementally by `{}`, not `{asked}`",
                        plan.cursor_field
                    ),
                )
                .with_stream(&stream.name));
            }
            (None, Some(asked)) => {
                return Err(ConnectorError::unsupported(
                    Operation::Read,
                    format!("the stream has no incremental configuration (cursor `{asked}` asked)"),
                )
                .with_stream(&stream.name));
            }
            (Some(plan), _) => {
                let resumed = request
                    .checkpoint
                    .as_ref()
                    .and_then(|c| c.cursor_value())
                    .cloned();
                Some(Incremental {
                    field: plan.cursor_field.clone(),
                    resuming: resumed.is_some(),
                    since: resumed.or_else(|| plan.start.clone()),
                })
            }
            (None, None) => None,
        };
        Ok(read_stream(
            self.http.clone(),
            stream,
            incremental,
            request.batch_size,
            self.policy(),
        ))
    }

    /// Sends `request.batch` (its JSON view, converted once) to the stream's endpoint of
    /// `request.mode`. A REST API has no transaction to commit a checkpoint with the
    /// records, so a request carrying one is refused before anything is sent.
    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        if request.checkpoint.is_some() {
            return Err(request.unsupported(
                "a REST API has no transaction to commit a checkpoint with the records \
                 (write.checkpoint is not supported); nothing was sent",
            ));
        }
        let compiled = self.stream(&request.stream, Operation::Write)?;
        write::write(
            &self.http,
            compiled,
            request.mode,
            &request.batch,
            &self.plan.retry,
        )
        .await
    }
}

/// Builds [`RestConnector`]s (type `rest`) wrapped in the default layers.
#[derive(Debug, Clone, Copy, Default)]
pub struct RestConnectorFactory;

impl RestConnectorFactory {
    /// The factory.
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl ConnectorFactory for RestConnectorFactory {
    fn connector_type(&self) -> &str {
        CONNECTOR_TYPE
    }

    fn spec(&self) -> Value {
        spec::config_schema()
    }

    async fn build(
        &self,
        config: Value,
        context: &BuildContext,
    ) -> Result<Arc<dyn Connector>, ConnectorError> {
        Ok(Arc::new(RestConnector::from_value(config, context)?))
    }
}
