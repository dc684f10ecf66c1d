//! Writing records: one request per record (`POST`/`PUT`/`PATCH`/`DELETE` to a path that
//! may take record fields), or batches of records in one body. Exactly one outcome per
//! record, in order.
//!
//! - A 4xx for a record (other than 401, 408, 429) rejects that record with the status and
//!   a redacted body excerpt; the other records go on.
//! - 429 and connection failures before sending are retried in every mode; 5xx and other
//!   transient failures only in idempotent modes (upsert, update, delete): an insert that
//!   got a 5xx may have been applied, so it is rejected as `transient` instead of retried.
//! - A failure of the connection as a whole (credentials refused, server unreachable after
//!   the retries) fails the write when nothing was applied yet (safe to retry as a whole);
//!   otherwise the remaining records are rejected with that error, so applied records are
//!   never sent twice.

use connector_sdk::{
    Batch, ConnectorError, ErrorKind, Operation, Record, RecordOutcome, RetryPolicy, WriteMode,
    WriteReport,
};
use reqwest::Method;
use serde_json::Value;

use crate::compile::{BatchPlan, CompiledStream, WriteTarget};
use crate::request::{Http, Outgoing, Received, never_sent};

/// The endpoint of `mode` on `stream`, or an `unsupported` error.
fn target(stream: &CompiledStream, mode: WriteMode) -> Result<&WriteTarget, ConnectorError> {
    let plan = stream.write.as_ref().ok_or_else(|| {
        ConnectorError::unsupported(Operation::Write, "this stream has no `write` configuration")
            .with_stream(&stream.name)
    })?;
    let target = match mode {
        WriteMode::Insert => Some(&plan.insert),
        WriteMode::Upsert => plan.upsert.as_ref(),
        WriteMode::Update => plan.update.as_ref(),
        WriteMode::Delete => plan.delete.as_ref(),
    };
    target.ok_or_else(|| {
        ConnectorError::unsupported(
            Operation::Write,
            format!("no `write.{mode}` endpoint is configured"),
        )
        .with_stream(&stream.name)
    })
}

/// Writes the records of `batch` to `stream` in `mode`. The batch's JSON view is built
/// once, after the endpoint is known to exist.
pub(crate) async fn write(
    http: &Http,
    stream: &CompiledStream,
    mode: WriteMode,
    batch: &Batch,
    policy: &RetryPolicy,
) -> Result<WriteReport, ConnectorError> {
    let target = target(stream, mode)?;
    let records = batch.to_records();
    let mut writer = Writer {
        http,
        policy,
        idempotent: mode.idempotent(),
        outcomes: Vec::with_capacity(records.len()),
        total: records.len(),
        stream: &stream.name,
    };
    match &target.batch {
        None => {
            for record in &records {
                if let Err(err) = writer.write_one(target, record).await {
                    return writer.abandon(err);
                }
            }
        }
        Some(batch) => {
            for chunk in records.chunks(batch.size) {
                if let Err(err) = writer.write_chunk(target, batch, chunk).await {
                    return writer.abandon(err);
                }
            }
        }
    }
    Ok(WriteReport::new(writer.outcomes))
}

/// What a request came to.
enum Sent {
    /// The server answered (any status).
    Answered(Received),
    /// It failed in a way that concerns this request only (an insert not retried).
    Failed(ConnectorError),
}

struct Writer<'a> {
    http: &'a Http,
    policy: &'a RetryPolicy,
    idempotent: bool,
    outcomes: Vec<RecordOutcome>,
    total: usize,
    stream: &'a str,
}

impl Writer<'_> {
    async fn write_one(
        &mut self,
        target: &WriteTarget,
        record: &Record,
    ) -> Result<(), ConnectorError> {
        let path = match target.path.render_path(record) {
            Ok(path) => path,
            Err(field) => {
                self.outcomes.push(RecordOutcome::rejected(
                    ErrorKind::Data,
                    format!(
                        "field `{field}` (used in the write path) is missing, null or not a scalar"
                    ),
                ));
                return Ok(());
            }
        };
        let url = match self.http.url(&path) {
            Ok(url) => url,
            Err(reason) => {
                self.outcomes
                    .push(RecordOutcome::rejected(ErrorKind::Data, reason));
                return Ok(());
            }
        };
        let mut request = Outgoing::new(target.method.clone(), url);
        if target.method != Method::DELETE {
            request = request.with_json(&Value::Object(record.clone()));
        }
        let outcome = match self.send(&request).await? {
            Sent::Answered(received) if received.status.is_success() => RecordOutcome::Ok,
            Sent::Answered(received) => self.rejection(&received),
            Sent::Failed(err) => local_failure(&err),
        };
        self.outcomes.push(outcome);
        Ok(())
    }

    async fn write_chunk(
        &mut self,
        target: &WriteTarget,
        batch: &BatchPlan,
        chunk: &[Record],
    ) -> Result<(), ConnectorError> {
        let items = Value::Array(chunk.iter().cloned().map(Value::Object).collect());
        let body = match &batch.wrap {
            Some(key) => Value::Object([(key.clone(), items)].into_iter().collect()),
            None => items,
        };
        let url = self
            .http
            .url(&target.path.render_path(&Record::new()).unwrap_or_default())
            .map_err(|e| ConnectorError::config(Operation::Write, e).with_stream(self.stream))?;
        let request = Outgoing::new(target.method.clone(), url).with_json(&body);
        let shared = match self.send(&request).await? {
            Sent::Answered(received) => {
                let item_errors = self.item_errors(batch, &received, chunk.len());
                if received.status.is_success() {
                    for (index, _) in chunk.iter().enumerate() {
                        self.outcomes.push(match item_errors.get(&index) {
                            Some(message) => RecordOutcome::rejected(
                                ErrorKind::Data,
                                format!("rejected by the API: {message}"),
                            ),
                            None => RecordOutcome::Ok,
                        });
                    }
                    return Ok(());
                }
                let RecordOutcome::Rejected { kind, reason } = self.rejection(&received) else {
                    return Ok(());
                };
                for (index, _) in chunk.iter().enumerate() {
                    self.outcomes.push(match item_errors.get(&index) {
                        Some(message) => {
                            RecordOutcome::rejected(kind, format!("{message} ({reason})"))
                        }
                        None => RecordOutcome::rejected(
                            kind,
                            format!("the batch of {} was refused: {reason}", chunk.len()),
                        ),
                    });
                }
                return Ok(());
            }
            Sent::Failed(err) => local_failure(&err),
        };
        self.outcomes
            .extend(std::iter::repeat_n(shared, chunk.len()));
        Ok(())
    }

    /// Sends with the retry policy: 429 and never-sent failures always retried, other
    /// transient failures only when the mode is idempotent. `Err` = the connection failed.
    async fn send(&self, request: &Outgoing) -> Result<Sent, ConnectorError> {
        let idempotent = self.idempotent;
        let result = self
            .policy
            .run(Operation::Write, || async {
                match self.http.send(Operation::Write, request).await {
                    Ok(received) if received.status.is_success() => Ok(Sent::Answered(received)),
                    Ok(received) => {
                        let err = self.http.status_error(Operation::Write, &received, "");
                        let retry =
                            err.kind() == ErrorKind::RateLimited || (err.retryable() && idempotent);
                        if retry {
                            Err(err)
                        } else {
                            Ok(Sent::Answered(received))
                        }
                    }
                    Err(err) => {
                        let retry = err.retryable()
                            && (idempotent
                                || never_sent(&err)
                                || err.kind() == ErrorKind::RateLimited);
                        if retry || !err.retryable() {
                            Err(err)
                        } else {
                            Ok(Sent::Failed(err))
                        }
                    }
                }
            })
            .await;
        result.map_err(|e| e.with_stream(self.stream))
    }

    /// The rejection an unsuccessful answer means for its record(s). A 5xx reaching here
    /// (an insert, not retried) is rejected as transient; a 401 never does (it is an error
    /// of the whole write).
    fn rejection(&self, received: &Received) -> RecordOutcome {
        let err = self.http.status_error(Operation::Write, received, "");
        let reason = if err.retryable() && !self.idempotent {
            format!(
                "{} (an insert is not retried: it may have been applied)",
                err.detail()
            )
        } else {
            err.detail().to_owned()
        };
        RecordOutcome::rejected(err.kind(), reason)
    }

    /// Per-item errors of a batch response: position in the chunk -> message.
    fn item_errors(
        &self,
        batch: &BatchPlan,
        received: &Received,
        len: usize,
    ) -> std::collections::HashMap<usize, String> {
        let mut errors = std::collections::HashMap::new();
        let Some(selector) = &batch.errors else {
            return errors;
        };
        let Ok(mut document) = serde_json::from_slice::<Value>(&received.body) else {
            tracing::warn!(stream = %self.stream, "batch write response is not JSON; per-item errors cannot be read");
            return errors;
        };
        for item in selector.take_items(&mut document) {
            let index = item.get(&batch.index_field).and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            });
            let Some(index) = index
                .and_then(|i| usize::try_from(i).ok())
                .filter(|i| *i < len)
            else {
                tracing::warn!(stream = %self.stream, "batch write response lists an error without a valid item index");
                continue;
            };
            let message = match item.get(&batch.message_field) {
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
                None => item.to_string(),
            };
            let message = self.http.redactor().excerpt(message.as_bytes());
            errors.insert(index, message);
        }
        errors
    }

    /// The connection failed: an error when nothing was applied yet (the write may be retried
    /// whole), else the remaining records are rejected with it.
    fn abandon(mut self, err: ConnectorError) -> Result<WriteReport, ConnectorError> {
        if !self.outcomes.iter().any(RecordOutcome::is_ok) {
            return Err(err);
        }
        let kind = err.kind();
        let reason = format!("not written: {}", err.detail());
        self.outcomes
            .resize(self.total, RecordOutcome::rejected(kind, reason));
        Ok(WriteReport::new(self.outcomes))
    }
}

/// A transport failure of one insert that may have reached the server: rejected as
/// transient rather than sent twice.
fn local_failure(err: &ConnectorError) -> RecordOutcome {
    RecordOutcome::rejected(
        err.kind(),
        format!(
            "{} (an insert is not retried: it may have been applied)",
            err.detail()
        ),
    )
}
