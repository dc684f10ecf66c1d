//! Reading a stream: one page request at a time (each page fetch retried on its own, the
//! next page fetched only when the consumer pulls), each page decoded into Arrow columns
//! once ([`crate::columns`]) and cut into batches of at most the requested size.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use connector_sdk::{ConnectorError, Operation, ReadBatch, ReadStream, Record, RetryPolicy};
use futures::StreamExt;
use reqwest::Url;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::cells::{FieldCells, JsonCell};
use crate::columns::decode;
use crate::compile::CompiledStream;
use crate::config::BodyFormat;
use crate::incremental::Incremental;
use crate::paginator::{Cap, PageToken, PageView, Paginator, ProgressGuard};
use crate::raw::{self, RawError};
use crate::records::{
    PageLabel, detect_format, invalid_json, parse_csv, parse_json_document, parse_ndjson,
    take_json_records,
};
use crate::request::{Http, Outgoing, Received};
use crate::template::{render_body, scalar_text};

/// One fetched page, parsed, with where the next one starts.
#[derive(Debug)]
pub(crate) struct FetchedPage {
    /// The page's records (not yet filtered incrementally).
    pub(crate) records: Vec<Record>,
    /// The next page, `None` when this was the last.
    pub(crate) next: Option<PageToken>,
}

/// Builds the request for the page at `token`.
pub(crate) fn page_request(
    http: &Http,
    stream: &CompiledStream,
    paginator: &Paginator,
    token: &PageToken,
    since: Option<&Value>,
    label: PageLabel<'_>,
) -> Result<Outgoing, ConnectorError> {
    let params = paginator.params(token);
    let (url, mut query) = match params.url {
        Some(url) => {
            if !http.same_origin(&url) {
                return Err(label.error(format!(
                    "the next page is on another origin ({}://{}); credentials are only sent to the base URL's origin",
                    url.scheme(),
                    url.host_str().unwrap_or("?")
                )));
            }
            (url, Vec::new())
        }
        None => {
            let url = http.url(&stream.path).map_err(|e| label.error(e))?;
            (url, stream.params.clone())
        }
    };
    let mut request = Outgoing::new(stream.method.clone(), url);
    request.headers = stream.headers.clone();
    match &stream.body {
        Some(template) => {
            let mut vars = params.vars;
            if let Some(since) = since {
                vars.insert("incremental", since.clone());
            }
            request = request.with_json(&render_body(template, &vars));
        }
        None if !matches!(token, PageToken::Url(_)) => {
            query.extend(params.query);
            if let (Some(since), Some(param)) = (
                since,
                stream.incremental.as_ref().and_then(|i| i.param.as_ref()),
            ) && let Some(text) = scalar_text(since)
            {
                query.push((param.clone(), text));
            }
        }
        None => {}
    }
    request.query = query;
    Ok(request)
}

/// A parsed response: its records and the next page.
struct Parsed {
    records: Vec<Record>,
    next: Option<PageToken>,
}

/// A page's answer and the URL it came from.
pub(crate) struct Answer {
    received: Received,
    url: Url,
}

/// Sends the request for the page at `token` (page number `page`); an unsuccessful status
/// is an error.
pub(crate) async fn send_page(
    http: &Http,
    stream: &CompiledStream,
    paginator: &Paginator,
    token: &PageToken,
    since: Option<&Value>,
    page: u64,
) -> Result<Answer, ConnectorError> {
    let label = PageLabel {
        stream: &stream.name,
        page,
    };
    let request = page_request(http, stream, paginator, token, since, label)?;
    let received = http
        .send(Operation::Read, &request)
        .await
        .map_err(|e| e.with_stream(&stream.name))?;
    if !received.status.is_success() {
        return Err(http
            .status_error(Operation::Read, &received, &format!("page {page}: "))
            .with_stream(&stream.name));
    }
    Ok(Answer {
        received,
        url: request.url,
    })
}

/// Fetches and parses the page at `token` (page number `page`, after `records_before`
/// records) and works out the next page: the paginator's answer unless the body says stop.
pub(crate) async fn fetch_page(
    http: &Http,
    stream: &CompiledStream,
    paginator: &Paginator,
    token: &PageToken,
    since: Option<&Value>,
    page: u64,
    records_before: u64,
) -> Result<FetchedPage, ConnectorError> {
    let answer = send_page(http, stream, paginator, token, since, page).await?;
    let label = PageLabel {
        stream: &stream.name,
        page,
    };
    parse_page(stream, paginator, token, &answer, records_before, label)
}

/// Parses an answer into records (through the JSON tree, NDJSON or CSV) and works out the
/// next page.
fn parse_page(
    stream: &CompiledStream,
    paginator: &Paginator,
    token: &PageToken,
    answer: &Answer,
    records_before: u64,
    label: PageLabel<'_>,
) -> Result<FetchedPage, ConnectorError> {
    let received = &answer.received;
    let format = detect_format(stream.format, &received.headers);
    let url = &answer.url;
    let parsed = match format {
        BodyFormat::Json => {
            let mut document = parse_json_document(&received.body, label)?;
            let count = stream.records.count(&document) as u64;
            let next = next_token(
                stream,
                paginator,
                token,
                Some(&document),
                &received.headers,
                count,
                records_before,
                url,
                label,
            )?;
            let records = take_json_records(&mut document, &stream.records, label)?;
            Parsed { records, next }
        }
        BodyFormat::Ndjson | BodyFormat::Csv => {
            let records = if format == BodyFormat::Ndjson {
                parse_ndjson(&received.body, label)?
            } else {
                parse_csv(&received.body, label)?
            };
            let count = records.len() as u64;
            let next = next_token(
                stream,
                paginator,
                token,
                None,
                &received.headers,
                count,
                records_before,
                url,
                label,
            )?;
            Parsed { records, next }
        }
    };
    Ok(FetchedPage {
        records: parsed.records,
        next: parsed.next,
    })
}

#[allow(clippy::too_many_arguments)]
fn next_token(
    stream: &CompiledStream,
    paginator: &Paginator,
    token: &PageToken,
    document: Option<&Value>,
    headers: &HeaderMap,
    count: u64,
    records_before: u64,
    url: &Url,
    label: PageLabel<'_>,
) -> Result<Option<PageToken>, ConnectorError> {
    let last = stream
        .stop
        .body_says_last(document, count, records_before + count)
        .map_err(|e| label.error(e))?;
    if last {
        return Ok(None);
    }
    let view = PageView {
        document,
        headers,
        record_count: count,
        url,
    };
    paginator.next(token, &view).map_err(|e| label.error(e))
}

/// Where the next page of a read starts.
#[derive(Debug, Clone)]
struct PagePosition {
    token: PageToken,
    page: u64,
    records_before: u64,
    high: Option<Value>,
}

/// A fetched page as batches of at most the batch size, with where the next page starts.
struct PageBatches {
    batches: Vec<ReadBatch>,
    next: Option<PagePosition>,
}

/// Everything one read needs, shared by its page fetches.
struct ReadState {
    http: Arc<Http>,
    stream: Arc<CompiledStream>,
    incremental: Option<Incremental>,
    batch_size: usize,
    policy: RetryPolicy,
    guard: Mutex<ProgressGuard>,
    /// Declared fields already reported as not fitting their type (warned once per read).
    misfits_reported: Mutex<HashSet<String>>,
}

/// Where a read is: batches of the current page not yet delivered, then the next page.
struct Reading {
    pending: VecDeque<ReadBatch>,
    next: Option<PagePosition>,
}

/// Opens a read of `stream`; nothing is fetched until the consumer pulls. Each page fetch
/// is retried on its own with `policy` (a failure on page 40 retries page 40, not the
/// read), and the next page is fetched only when the batches of this one are consumed, so
/// memory holds one page. Empty batches without a checkpoint are skipped; an error that
/// outlives the retries ends the stream after being yielded.
pub(crate) fn read_stream(
    http: Arc<Http>,
    stream: Arc<CompiledStream>,
    incremental: Option<Incremental>,
    batch_size: usize,
    policy: RetryPolicy,
) -> ReadStream {
    let start = Reading {
        pending: VecDeque::new(),
        next: Some(PagePosition {
            token: stream.paginator.start(),
            page: 1,
            records_before: 0,
            high: incremental.as_ref().and_then(Incremental::initial_high),
        }),
    };
    let state = Arc::new(ReadState {
        http,
        stream,
        incremental,
        batch_size: batch_size.max(1),
        policy,
        guard: Mutex::new(ProgressGuard::default()),
        misfits_reported: Mutex::new(HashSet::new()),
    });
    futures::stream::try_unfold(start, move |mut reading| {
        let state = state.clone();
        async move {
            loop {
                if let Some(batch) = reading.pending.pop_front() {
                    return Ok(Some((batch, reading)));
                }
                let Some(position) = reading.next.take() else {
                    return Ok(None);
                };
                let page = state
                    .policy
                    .run(Operation::Read, || state.fetch(position.clone()))
                    .await
                    .map_err(|e| e.with_stream(&state.stream.name))?;
                reading.next = page.next;
                reading.pending = page
                    .batches
                    .into_iter()
                    .filter(|b| !b.batch.is_empty() || b.checkpoint.is_some())
                    .collect();
            }
        }
    })
    .boxed()
}

impl ReadState {
    /// Fetches the page at `position` and turns it into batches: a JSON page the stream
    /// can read in one pass ([`raw`]) is, any other through the JSON tree (or as NDJSON or
    /// CSV).
    async fn fetch(&self, position: PagePosition) -> Result<PageBatches, ConnectorError> {
        let stream = &self.stream;
        let label = PageLabel {
            stream: &stream.name,
            page: position.page,
        };
        let since = self.incremental.as_ref().and_then(|i| i.since.as_ref());
        let paginator = &stream.paginator;
        let answer = send_page(
            &self.http,
            stream,
            paginator,
            &position.token,
            since,
            position.page,
        )
        .await?;
        let received = &answer.received;
        let one_pass = stream
            .raw
            .as_ref()
            .filter(|_| detect_format(stream.format, &received.headers) == BodyFormat::Json);
        if let Some(plan) = one_pass {
            match raw::parse(plan, &received.body) {
                Ok(page) => {
                    let next = next_token(
                        stream,
                        paginator,
                        &position.token,
                        Some(&page.document),
                        &received.headers,
                        page.count as u64,
                        position.records_before,
                        &answer.url,
                        label,
                    )?;
                    return self.batches(position, page.cells, next, label);
                }
                Err(RawError::Json(e)) => return Err(invalid_json(label, &e)),
                Err(RawError::NotAnObject { index, kind }) => {
                    return Err(
                        label.error(format!("record {index} is not a JSON object but {kind}"))
                    );
                }
                Err(RawError::Unsupported) => {}
            }
        }
        let fetched = parse_page(
            stream,
            paginator,
            &position.token,
            &answer,
            position.records_before,
            label,
        )?;
        let cells = FieldCells::of_records(&fetched.records);
        self.batches(position, cells, fetched.next, label)
    }

    /// Applies the stop rules, the progress guard and the incremental filter to a page's
    /// records, decodes them into columns once, and cuts the columns into batches of at
    /// most the batch size, each with the checkpoint reached after it.
    fn batches<'a, C: JsonCell<'a>>(
        &self,
        position: PagePosition,
        mut cells: FieldCells<'_, C>,
        mut next: Option<PageToken>,
        label: PageLabel<'_>,
    ) -> Result<PageBatches, ConnectorError> {
        let stream = &self.stream;
        if let Some(max) = stream.stop.max_records {
            let room = max.saturating_sub(position.records_before);
            if (cells.rows() as u64) > room {
                cells.truncate(usize::try_from(room).unwrap_or(usize::MAX));
            }
        }
        let rows = cells.rows();
        let records_so_far = position.records_before + rows as u64;
        if next.is_some()
            && let Some(cap) = stream.stop.cap_reached(position.page, records_so_far)
        {
            tracing::warn!(
                stream = %stream.name,
                page = position.page,
                records = records_so_far,
                cap = match cap { Cap::Pages => "max_pages", Cap::Records => "max_records" },
                "read stopped at its safety cap; more pages remain"
            );
            next = None;
        }
        if stream.stop.progress_guard {
            let mut guard = self.guard.lock().unwrap_or_else(|e| e.into_inner());
            guard
                .advance(position.page, cells.content_hash(), next.as_ref())
                .map_err(|e| label.error(e))?;
        }

        // The incremental filter and the checkpoint after each batch.
        let cursors: Vec<Option<Value>> = match &self.incremental {
            Some(incremental) => match cells.field(&incremental.field) {
                Some(values) => values.iter().map(|v| v.map(JsonCell::to_value)).collect(),
                None => vec![None; rows],
            },
            None => Vec::new(),
        };
        let kept: Vec<usize> = match &self.incremental {
            Some(incremental) => (0..rows)
                .filter(|row| !incremental.delivered(cursors[*row].as_ref()))
                .collect(),
            None => (0..rows).collect(),
        };
        let mut high = position.high;
        let mut checkpoints = Vec::with_capacity(kept.len().div_ceil(self.batch_size).max(1));
        for chunk in kept.chunks(self.batch_size) {
            high = self.high_after(high, chunk.iter().map(|row| cursors[*row].as_ref()));
            checkpoints.push(self.checkpoint(&high));
        }
        if kept.is_empty() {
            checkpoints.push(self.checkpoint(&high));
        }

        let decoded = decode(&cells, stream.shape.as_ref(), label)?;
        self.report_misfits(&decoded.misfits, position.page);
        let page = if kept.len() < rows {
            decoded.batch.take(&kept)
        } else {
            decoded.batch
        };
        let batches = checkpoints
            .into_iter()
            .enumerate()
            .map(|(index, checkpoint)| {
                let rows = page.slice(index * self.batch_size, self.batch_size);
                ReadBatch::new(stream.name.as_str(), rows, checkpoint)
            })
            .collect();
        Ok(PageBatches {
            batches,
            next: next.map(|token| PagePosition {
                token,
                page: position.page + 1,
                records_before: records_so_far,
                high,
            }),
        })
    }

    /// Warns once per read and field that declared values did not fit their type.
    fn report_misfits(&self, misfits: &[String], page: u64) {
        if misfits.is_empty() {
            return;
        }
        let mut reported = self
            .misfits_reported
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for field in misfits {
            if reported.insert(field.clone()) {
                tracing::warn!(
                    stream = %self.stream.name,
                    page,
                    field = %field,
                    "values of this field do not fit its declared type; on such pages it is typed from its values instead"
                );
            }
        }
    }

    fn high_after<'v>(
        &self,
        high: Option<Value>,
        cursors: impl IntoIterator<Item = Option<&'v Value>>,
    ) -> Option<Value> {
        match &self.incremental {
            Some(incremental) => incremental.high_after(high, cursors),
            None => None,
        }
    }

    fn checkpoint(&self, high: &Option<Value>) -> Option<connector_sdk::Checkpoint> {
        self.incremental.as_ref().and_then(|i| i.checkpoint(high))
    }
}
