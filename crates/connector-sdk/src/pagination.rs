//! Building a read stream page by page, each page fetch retried on its own.

use std::sync::Arc;

use futures::StreamExt;

use crate::error::{ConnectorError, Operation};
use crate::layers::RetryPolicy;
use crate::record::{Checkpoint, ReadBatch, ReadStream, Record};

/// One fetched page: its records, the checkpoint reached after it, and where the next page
/// starts (`None` on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<S> {
    /// The records of the page.
    pub records: Vec<Record>,
    /// The state reached after this page.
    pub checkpoint: Option<Checkpoint>,
    /// The position of the next page (page token, offset, cursor), `None` when done.
    pub next: Option<S>,
}

/// A read stream that calls `fetch(position)` for each page, starting at `start`, retrying
/// each fetch with `policy` (a failure on page 40 retries page 40, not the stream).
///
/// Pages are fetched only when the consumer pulls the next batch, so memory holds one page
/// and a slow consumer slows the reads. Empty pages without a checkpoint are skipped.
/// An error that outlives the retries ends the stream after being yielded.
pub fn paged_stream<S, F, Fut>(
    stream: impl Into<String>,
    start: S,
    policy: RetryPolicy,
    fetch: F,
) -> ReadStream
where
    S: Clone + Send + Sync + 'static,
    F: Fn(S) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<S>, ConnectorError>> + Send + 'static,
{
    let stream: Arc<str> = Arc::from(stream.into());
    let fetch = Arc::new(fetch);
    let policy = Arc::new(policy);
    futures::stream::try_unfold(Some(start), move |mut position| {
        let stream = stream.clone();
        let fetch = fetch.clone();
        let policy = policy.clone();
        async move {
            while let Some(current) = position {
                let page = policy
                    .run(Operation::Read, || fetch(current.clone()))
                    .await
                    .map_err(|e| e.with_stream(stream.as_ref()))?;
                position = page.next;
                if !page.records.is_empty() || page.checkpoint.is_some() {
                    let batch = ReadBatch::new(stream.as_ref(), page.records, page.checkpoint);
                    return Ok(Some((batch, position)));
                }
            }
            Ok(None)
        }
    })
    .boxed()
}
